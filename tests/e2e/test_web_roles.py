"""Each role, signed in to the web application, sees only what it may.

One organisation with two campaigns: a Manager is assigned to the first, an Agent is the
agent of one of its calls. In a real Chromium each role's navigation offers exactly the
screens its permissions allow, the calls list shows exactly the calls in its scope (the
server decides; the screen only shows what it is given), and a call outside the scope
cannot be opened by its address.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from playwright.async_api import Browser, expect

from tests.support.audio import RenderedAudio
from tests.support.browser import sign_in
from tests.support.people import Person, new_person
from tests.support.services import RunningServices

ALL_SCREENS = ("dashboard", "calls", "review", "upload", "campaigns", "agents", "users", "audit")
SCREENS = {
    "AGENT": {"dashboard", "calls", "campaigns"},
    "MANAGER": {"dashboard", "calls", "review", "upload", "campaigns", "agents"},
    "COMPLIANCE_OFFICER": {
        "dashboard",
        "calls",
        "review",
        "upload",
        "campaigns",
        "agents",
        "audit",
    },
    "SENIOR_MANAGER": {"dashboard", "calls", "review", "upload", "campaigns", "agents"},
    "OWNER": set(ALL_SCREENS),
}


@dataclass(frozen=True)
class Calls:
    """Three calls: the Agent's, a colleague's in the same campaign, one in another campaign."""

    agents: str
    colleagues: str
    elsewhere: str


async def _upload(api: httpx.AsyncClient, key: str, wav: bytes, **metadata: str) -> str:
    response = await api.post(
        "/api/v1/calls/upload",
        headers={"X-API-Key": key},
        data=metadata,
        files={"file": (f"roles-{uuid.uuid4().hex[:6]}.wav", wav[:-64] + os.urandom(64))},
    )
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


@pytest.fixture(scope="module")
async def scene(
    api: httpx.AsyncClient,
    owner: Person,
    directory: MongoDirectory,
    rendered: dict[str, RenderedAudio],
) -> tuple[dict[str, Person], Calls]:
    wav = rendered["no_greeting"].path.read_bytes()
    tag = uuid.uuid4().hex[:6].upper()
    campaigns = []
    for name in (f"Roles A {tag}", f"Roles B {tag}"):
        made = await api.post("/api/v1/campaigns", headers=owner.headers, json={"name": name})
        assert made.status_code == 201, made.text
        key = await api.post(
            f"/api/v1/campaigns/{made.json()['id']}/api-keys", headers=owner.headers, json={}
        )
        campaigns.append((made.json()["id"], key.json()["key"]))
    (first, first_key), (_, second_key) = campaigns
    agent = await api.post(
        "/api/v1/agents",
        headers=owner.headers,
        json={"name": f"Roles Agent {tag}", "code": f"RL{tag}", "campaign_ids": [first]},
    )
    assert agent.status_code == 201, agent.text
    calls = Calls(
        agents=await _upload(api, first_key, wav, agent_code=f"RL{tag}"),
        colleagues=await _upload(api, first_key, wav),
        elsewhere=await _upload(api, second_key, wav),
    )
    people = {
        "AGENT": await new_person(
            api, directory, owner.org_id, "AGENT", agent_id=agent.json()["id"]
        ),
        "MANAGER": await new_person(api, directory, owner.org_id, "MANAGER", campaign_ids=[first]),
        "COMPLIANCE_OFFICER": await new_person(api, directory, owner.org_id, "COMPLIANCE_OFFICER"),
        "SENIOR_MANAGER": await new_person(api, directory, owner.org_id, "SENIOR_MANAGER"),
        "OWNER": owner,
    }
    return people, calls


def _visible_calls(role: str, calls: Calls) -> set[str]:
    if role == "AGENT":
        return {calls.agents}
    if role == "MANAGER":
        return {calls.agents, calls.colleagues}
    return {calls.agents, calls.colleagues, calls.elsewhere}


@pytest.mark.parametrize("role", list(SCREENS))
async def test_each_role_sees_its_screens_and_only_its_calls(
    browser: Browser,
    services: RunningServices,
    scene: tuple[dict[str, Person], Calls],
    role: str,
) -> None:
    people, calls = scene
    person = people[role]
    session = await sign_in(browser, services.gateway_url, person.email, person.password)
    try:
        page = session.page
        nav = page.locator("#nav a")
        await expect(nav.first).to_be_visible()
        offered = {await link.get_attribute("data-nav") for link in await nav.all()}
        assert offered == SCREENS[role]

        await page.goto("/#/calls")
        visible = _visible_calls(role, calls)
        for call_id in visible:
            await expect(page.locator(f'tr[data-call-id="{call_id}"]')).to_be_visible()
        for call_id in {calls.agents, calls.colleagues, calls.elsewhere} - visible:
            await expect(page.locator(f'tr[data-call-id="{call_id}"]')).to_have_count(0)
        await session.screenshot(f"calls-as-{role.lower().replace('_', '-')}")

        hidden = {calls.agents, calls.colleagues, calls.elsewhere} - visible
        if hidden:
            # Its address typed in by hand: the server answers as if it did not exist.
            await page.goto(f"/#/calls/{sorted(hidden)[0]}")
            await expect(page.get_by_role("alert")).to_contain_text("no call with id")
        if role != "OWNER":
            await page.goto("/#/users")
            await expect(page.get_by_role("alert").first).to_be_visible()
            await expect(page.locator('[data-page="users"] table')).to_have_count(0)
        session.assert_no_errors()
    finally:
        await session.close()
