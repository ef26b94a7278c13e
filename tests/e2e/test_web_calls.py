"""The call screens in a real Chromium: calls list with live statuses, call detail (audio,
transcript, evidence, versions, edit, delete), review queue, dashboard and agents.

Calls are uploaded through the REST API with a campaign key of this module's own campaigns,
so the figures the screens show can be checked exactly against the API.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import wait_until_done
from tests.support.audio import RenderedAudio
from tests.support.browser import TIMEOUT_MS, WebSession, sign_in
from tests.support.people import Person, new_person
from tests.support.services import RunningServices

# Processing runs real transcription beside other suites on a small machine.
PROCESSING_MS = 300_000
STATUSES = ("PENDING", "TRANSCRIBING", "ANALYZING", "COMPLETED", "FAILED", "DUPLICATE")


@dataclass(frozen=True)
class Scene:
    """This module's campaign, its key, an agent and three finished calls."""

    campaign_id: str
    campaign_name: str
    key: str
    agent: dict[str, Any]
    compliant: dict[str, Any]
    flagged: dict[str, Any]
    disposable: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        """The campaign key's header."""
        return {"X-API-Key": self.key}


async def _upload(
    api: httpx.AsyncClient, key: str, audio: RenderedAudio, name: str, fields: dict[str, str]
) -> str:
    with audio.path.open("rb") as handle:
        response = await api.post(
            "/api/v1/calls/upload",
            headers={"X-API-Key": key},
            data=fields,
            files={"file": (name, handle, "audio/wav")},
        )
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


async def _campaign(directory: MongoDirectory, org_id: str, name: str) -> tuple[str, str]:
    campaign_id = await directory.create_campaign(org_id, name, 95.0, DEFAULT_CHECKS)
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    return campaign_id, key.raw


@pytest.fixture(scope="module")
async def scene(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    owner: Person,
    rendered: dict[str, RenderedAudio],
) -> Scene:
    suffix = uuid.uuid4().hex[:6]
    name = f"Web calls {suffix}"
    campaign_id, key = await _campaign(directory, owner.org_id, name)
    code = f"WB{suffix.upper()}"
    made = await api.post(
        "/api/v1/agents",
        headers=owner.headers,
        json={"name": "Wendy Browser", "code": code, "campaign_ids": [campaign_id]},
    )
    assert made.status_code == 201, made.text
    ids = [
        await _upload(
            api,
            key,
            rendered["compliant"],
            f"web_{code}_compliant.wav",
            {"agent_code": code, "call_type": "OUTBOUND", "client_reference": f"A-{suffix}"},
        ),
        await _upload(api, key, rendered["no_greeting"], "web_no_greeting.wav", {}),
        await _upload(
            api,
            key,
            rendered["compliant"],
            "web_to_delete.wav",
            {"client_reference": f"B-{suffix}"},
        ),
    ]
    done = await asyncio.gather(*(wait_until_done(api, key, call_id) for call_id in ids))
    assert [call["status"] for call in done] == ["COMPLETED"] * 3, done
    assert done[1]["flagged"] is True, done[1]
    return Scene(campaign_id, name, key, made.json(), done[0], done[1], done[2])


@pytest.fixture(autouse=True)
def _patient_expectations() -> Iterator[None]:
    """Screens wait on a busy machine: expectations get the browser context's 20 s."""
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        yield
    finally:
        expect.set_options(timeout=5_000)


async def _signed_in(browser: Browser, services: RunningServices, person: Person) -> WebSession:
    session = await sign_in(browser, services.gateway_url, person.email, person.password)
    # Shown with a failing test's captured output: what the page logged, warnings included.
    session.page.on("console", lambda message: print(f"[browser {message.type}] {message.text}"))
    return session


async def _open_call(page: Page, call_id: str, review: bool = False) -> None:
    await page.goto(f"/#/calls/{call_id}{'?review=1' if review else ''}")
    await expect(page.locator(".call-head h1")).to_be_visible()


async def _audio_reaches(page: Page, start: float) -> None:
    """The page's <audio> is playing from (about) `start` seconds."""
    await page.wait_for_function(
        """(start) => {
            const audio = document.querySelector("audio.player");
            return audio && !audio.paused && audio.currentTime >= start - 0.05
                && audio.currentTime < start + 6;
        }""",
        arg=start,
        timeout=30_000,
    )


async def test_calls_list_shows_uploads_and_updates_statuses_without_a_reload(
    api: httpx.AsyncClient,
    browser: Browser,
    services: RunningServices,
    directory: MongoDirectory,
    owner: Person,
    rendered: dict[str, RenderedAudio],
    scene: Scene,
) -> None:
    # A campaign that holds calls, so the call is surely Pending when the list first shows it.
    held_campaign, held_key = await _campaign(
        directory, owner.org_id, f"Held {uuid.uuid4().hex[:6]}"
    )
    await directory.set_auto_processing(owner.org_id, held_campaign, enabled=False)
    call_id = await _upload(api, held_key, rendered["no_verification"], "web_live.wav", {})
    session = await _signed_in(browser, services, owner)
    try:
        page = session.page
        await page.goto(f"/#/calls?campaign_id={scene.campaign_id}")
        table = page.locator("table.calls-table")
        for call in (scene.compliant, scene.flagged, scene.disposable):
            row = table.locator(f'tr[data-call-id="{call["id"]}"]')
            await expect(row.locator('[data-col="status"]')).to_have_text("Completed")
            await expect(row.locator('[data-col="source"]')).to_have_text("API")
            await expect(row.locator('[data-col="campaign"]')).to_have_text(scene.campaign_name)
        first = table.locator(f'tr[data-call-id="{scene.compliant["id"]}"]')
        await expect(first.locator('[data-col="agent"]')).to_contain_text("Wendy Browser")
        flagged = table.locator(f'tr[data-call-id="{scene.flagged["id"]}"]')
        await expect(flagged.locator('[data-col="flag"]')).to_contain_text("Flagged")
        await expect(page.locator("#filter-campaign_id")).to_have_value(scene.campaign_id)
        await session.screenshot("calls-list")

        # The held call: Pending, then Completed once processed, on the same page.
        await page.goto(f"/#/calls?campaign_id={held_campaign}")
        status = page.locator(f'tr[data-call-id="{call_id}"] [data-col="status"] .badge')
        await expect(status).to_have_text("Pending")
        await page.evaluate("window.__sameDocument = true")
        processed = await api.post(
            f"/api/v1/calls/{call_id}/process", headers={"X-API-Key": held_key}
        )
        assert processed.status_code == 202, processed.text
        await expect(status).to_have_text("Completed", timeout=PROCESSING_MS)
        assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"

        # Filters live in the URL: ticking a status narrows the list.
        await page.goto(f"/#/calls?campaign_id={scene.campaign_id}")
        await page.get_by_label("Failed").check()
        await expect(page).to_have_url(re.compile(r"status=FAILED"))
        await expect(page.locator(".calls-list")).to_contain_text("No call matches")
        session.assert_no_errors()
    finally:
        await session.close()


async def test_transcript_lines_and_evidence_seek_the_recording(
    browser: Browser, services: RunningServices, owner: Person, scene: Scene
) -> None:
    session = await _signed_in(browser, services, owner)
    try:
        page = session.page
        await _open_call(page, scene.compliant["id"])
        await expect(page.locator(".call-head .badge").first).to_have_text("Completed")
        lines = page.locator(".transcript .line")
        await expect(lines.nth(2)).to_be_visible()
        await expect(page.locator(".transcript .speaker.agent").first).to_have_text("Agent")
        await expect(page.locator(".transcript .speaker.customer").first).to_have_text("Customer")
        line = lines.nth(2)
        start = float(await line.get_attribute("data-start") or "nan")
        assert start > 0
        await line.click()
        await _audio_reaches(page, start)
        await expect(line).to_have_class(re.compile(r"\bplaying\b"))

        evidence = page.locator("button.evidence").first
        await expect(evidence).to_be_visible()
        moment = float(await evidence.get_attribute("data-start") or "nan")
        await page.evaluate("document.querySelector('audio.player').pause()")
        await evidence.click()
        await _audio_reaches(page, moment)
        await page.evaluate("document.querySelector('audio.player').pause()")
        await expect(page.locator(".check").first).to_be_visible()
        await expect(page.locator(".analysis-score .score")).to_have_text(
            f"{scene.compliant['score']:.1f}"
        )
        await session.screenshot("call-detail")
        session.assert_no_errors()
    finally:
        await session.close()


async def test_metadata_edit_and_agent_link_persist(
    api: httpx.AsyncClient, browser: Browser, services: RunningServices, owner: Person, scene: Scene
) -> None:
    session = await _signed_in(browser, services, owner)
    call_id = scene.flagged["id"]
    try:
        page = session.page
        await _open_call(page, call_id)
        await page.get_by_role("button", name="Edit metadata").click()
        await page.get_by_label("Disposition").fill("Callback from the browser")
        await page.get_by_label("Customer ID").fill("CUST-777")
        await page.get_by_role("button", name="Save", exact=True).click()
        await expect(page.locator('dd[data-field="Disposition"]')).to_have_text(
            "Callback from the browser"
        )
        stored = (await api.get(f"/api/v1/calls/{call_id}", headers=scene.headers)).json()
        assert stored["metadata"]["disposition"] == "Callback from the browser"
        assert stored["metadata"]["customer_id"] == "CUST-777"

        await page.get_by_role("button", name="Link agent").click()
        await page.get_by_label("Agent of this campaign").select_option(scene.agent["id"])
        await page.get_by_role("button", name="Link", exact=True).click()
        await expect(page.locator('dd[data-field="Agent"]')).to_contain_text("Wendy Browser")
        linked = (await api.get(f"/api/v1/calls/{call_id}", headers=scene.headers)).json()
        assert linked["agent"]["id"] == scene.agent["id"]
        assert linked["agent"]["linked_by"] == "MANUAL"
        session.assert_no_errors()
    finally:
        await session.close()


async def test_run_analysis_adds_a_version_and_the_diff_shows(
    api: httpx.AsyncClient, browser: Browser, services: RunningServices, owner: Person, scene: Scene
) -> None:
    session = await _signed_in(browser, services, owner)
    call_id = scene.compliant["id"]
    try:
        page = session.page
        await _open_call(page, call_id)
        versions = page.locator("table.versions tbody tr")
        await expect(versions.first).to_be_visible()
        before = await versions.count()
        await page.get_by_role("button", name="Run Analysis").click()
        # The status follows the pipeline live, then the new version is listed.
        await expect(page.locator(".call-head .badge").first).to_have_text(
            "Completed", timeout=PROCESSING_MS
        )
        await expect(versions).to_have_count(before + 1, timeout=PROCESSING_MS)
        await page.get_by_role("button", name="Compare").click()
        diff = page.locator(".diff-result")
        await expect(diff).to_contain_text(f"v{before} → v{before + 1}")
        await expect(diff).to_contain_text("unchanged")
        history = (await api.get(f"/api/v1/calls/{call_id}/analyses", headers=scene.headers)).json()
        assert len(history["analyses"]) == before + 1
        session.assert_no_errors()
    finally:
        await session.close()


def _results(analysis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["check_id"]: result for result in analysis["results"]}


async def _queue_ids(api: httpx.AsyncClient, person: Person, campaign_id: str) -> set[str]:
    response = await api.get(
        "/api/v1/review-queue", headers=person.headers, params={"campaign_id": campaign_id}
    )
    assert response.status_code == 200, response.text
    return {call["id"] for call in response.json()["calls"]}


async def test_review_queue_override_and_mark_reviewed(
    api: httpx.AsyncClient, browser: Browser, services: RunningServices, owner: Person, scene: Scene
) -> None:
    call_id = scene.flagged["id"]
    assert call_id in await _queue_ids(api, owner, scene.campaign_id)
    analysis = (await api.get(f"/api/v1/calls/{call_id}/analysis", headers=scene.headers)).json()
    failed = next(r for r in analysis["results"] if r["answer"] == "NO")
    session = await _signed_in(browser, services, owner)
    try:
        page = session.page
        await page.goto(f"/#/review?campaign_id={scene.campaign_id}")
        row = page.locator(f'tr[data-call-id="{call_id}"]')
        reasons = row.locator('[data-col="reasons"]')
        for reason in scene.flagged["flag_reasons"]:
            await expect(reasons).to_contain_text(reason)
        await expect(row.locator(".reason-tag").first).to_have_text(
            re.compile("Below threshold|Critical check failed|Speaker roles|Answer unverified")
        )
        await session.screenshot("review-queue")
        await row.get_by_role("link", name="Review").click()

        check = page.locator(f'.check[data-check-id="{failed["check_id"]}"]')
        await check.get_by_role("button", name="Override").click()
        await check.get_by_label("Reviewer's answer").select_option("YES")
        await check.get_by_role("button", name="Save override").click()
        await expect(check.get_by_role("alert")).to_contain_text("comment")
        await check.get_by_label("Comment (required)").fill("The greeting is there at 0:01.")
        await check.get_by_role("button", name="Save override").click()

        # The recomputed score of the new (review) version; the AI's answer stays beside it.
        check = page.locator(f'.check[data-check-id="{failed["check_id"]}"]')
        await expect(check.locator(".answer.effective")).to_have_text("Yes")
        await expect(check.locator(".ai-answer .answer")).to_have_text("No")
        await expect(check).to_contain_text("The greeting is there at 0:01.")
        latest = (await api.get(f"/api/v1/calls/{call_id}/analysis", headers=scene.headers)).json()
        assert latest["version"] == analysis["version"] + 1
        assert latest["score"] > analysis["score"]
        await expect(page.locator(".analysis-score .score")).to_have_text(f"{latest['score']:.1f}")
        stored = _results(latest)[failed["check_id"]]
        assert stored["answer"] == "YES" and stored["ai_answer"] == "NO"
        assert stored["override"]["comment"] == "The greeting is there at 0:01."
        assert stored["override"]["answer"] == "YES"

        await page.get_by_label("Review note").fill("Checked in the browser")
        await page.get_by_role("button", name="Mark reviewed").click()
        await expect(page).to_have_url(re.compile(r"#/review"))
        await expect(page.locator(f'tr[data-call-id="{call_id}"]')).to_have_count(0)
        assert call_id not in await _queue_ids(api, owner, scene.campaign_id)
        session.assert_no_errors()
    finally:
        await session.close()


async def test_delete_asks_first_and_removes_the_call(
    api: httpx.AsyncClient, browser: Browser, services: RunningServices, owner: Person, scene: Scene
) -> None:
    call_id = scene.disposable["id"]
    session = await _signed_in(browser, services, owner)
    try:
        page = session.page
        await _open_call(page, call_id)
        await page.locator(".call-actions").get_by_role("button", name="Delete").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_contain_text("Delete this call?")
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(dialog).to_have_count(0)
        kept = await api.get(f"/api/v1/calls/{call_id}", headers=scene.headers)
        assert kept.status_code == 200

        await page.locator(".call-actions").get_by_role("button", name="Delete").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page).to_have_url(re.compile(r"#/calls$"))
        gone = await api.get(f"/api/v1/calls/{call_id}", headers=scene.headers)
        assert gone.status_code == 404
        session.assert_no_errors()
    finally:
        await session.close()


async def _settled_calls(api: httpx.AsyncClient, scene: Scene) -> list[dict[str, Any]]:
    page = (await api.get("/api/v1/calls", headers=scene.headers, params={"limit": 200})).json()
    calls: list[dict[str, Any]] = page["calls"]
    for call in calls:
        if call["status"] not in {"COMPLETED", "FAILED", "DUPLICATE"}:
            await wait_until_done(api, scene.key, call["id"])
            return await _settled_calls(api, scene)
    return calls


async def test_dashboard_draws_the_campaigns_figures_as_svg(
    api: httpx.AsyncClient, browser: Browser, services: RunningServices, owner: Person, scene: Scene
) -> None:
    calls = await _settled_calls(api, scene)
    by_status = Counter(call["status"] for call in calls)
    scored = [call for call in calls if call["score"] is not None]
    session = await _signed_in(browser, services, owner)
    try:
        page = session.page
        await page.goto(f"/#/dashboard?campaign_id={scene.campaign_id}")
        await expect(page.locator('[data-kpi="total"] .value')).to_have_text(str(len(calls)))
        status_chart = page.locator('svg[data-chart="status"]')
        await expect(status_chart.locator("title").first).to_have_text("Calls per status")
        for status in STATUSES:
            label = status.capitalize()
            bar = status_chart.locator(f'g.bar[data-label="{label}"]')
            await expect(bar).to_have_attribute("data-value", str(by_status.get(status, 0)))
        await expect(status_chart.locator('g.bar[data-label="Completed"] text.value')).to_have_text(
            str(by_status["COMPLETED"])
        )
        histogram = page.locator('svg[data-chart="scores"] g.bar')
        await expect(histogram).to_have_count(10)
        values = [
            int(v or 0)
            for v in await histogram.evaluate_all(
                "bars => bars.map(bar => bar.getAttribute('data-value'))"
            )
        ]
        assert sum(values) == len(scored)
        flagged = sum(1 for call in calls if call["flagged"])
        await expect(page.locator('[data-kpi="flagged"] .value')).to_have_text(str(flagged))
        await expect(
            page.locator('svg[data-chart="agents"] g.bar[data-label^="Wendy Browser"]')
        ).to_have_count(1)
        await session.screenshot("dashboard")
        session.assert_no_errors()
    finally:
        await session.close()


async def test_agents_screen_creates_agents_and_shows_the_score_trend(
    api: httpx.AsyncClient, browser: Browser, services: RunningServices, owner: Person, scene: Scene
) -> None:
    trend = (
        await api.get(f"/api/v1/agents/{scene.agent['id']}/trend", headers=owner.headers)
    ).json()
    today = trend["points"][-1]
    assert today["scored_calls"] >= 1
    session = await _signed_in(browser, services, owner)
    code = f"NB{uuid.uuid4().hex[:6].upper()}"
    try:
        page = session.page
        await page.goto("/#/agents")
        await expect(page.locator(f'tr[data-agent-id="{scene.agent["id"]}"]')).to_contain_text(
            scene.agent["code"]
        )
        await page.get_by_role("button", name="New agent").click()
        await page.get_by_label("Name", exact=True).fill("Nina Browser")
        await page.get_by_label("Code", exact=True).fill(code)
        await page.get_by_label(scene.campaign_name).check()
        await page.get_by_role("button", name="Create agent").click()
        await expect(page.locator("table.agents-table")).to_contain_text(code)
        agents = (await api.get("/api/v1/agents", headers=owner.headers)).json()["agents"]
        made = next(agent for agent in agents if agent["code"] == code)
        assert made["campaign_ids"] == [scene.campaign_id]
        await session.screenshot("agents")

        await page.get_by_role("link", name="Wendy Browser").click()
        chart = page.locator('svg[data-chart="trend"]')
        await expect(chart).to_be_visible()
        last = chart.locator("g.point").last
        await expect(last).to_have_attribute("data-value", re.compile(r"\d"))
        assert float(await last.get_attribute("data-value") or "nan") == today["average_score"]
        await expect(page.locator('[data-kpi="calls"] .value')).to_have_text(
            str(trend["totals"]["calls"])
        )
        await expect(page.locator("table.agent-calls")).to_contain_text("compliant")
        await page.get_by_role("button", name="Per week").click()
        await expect(page.locator('svg[data-chart="trend"]')).to_contain_text("wk")
        await session.screenshot("agent-trend")
        session.assert_no_errors()
    finally:
        await session.close()


async def test_controls_follow_the_role(
    api: httpx.AsyncClient,
    browser: Browser,
    services: RunningServices,
    directory: MongoDirectory,
    owner: Person,
    scene: Scene,
) -> None:
    officer = await new_person(api, directory, owner.org_id, "COMPLIANCE_OFFICER")
    session = await _signed_in(browser, services, officer)
    try:
        page = session.page
        await page.goto("/#/agents")
        await expect(page.locator("table.agents-table")).to_contain_text(scene.agent["code"])
        await expect(page.get_by_role("button", name="New agent")).to_have_count(0)
        await page.goto(f"/#/agents/{scene.agent['id']}")
        await expect(page.locator('svg[data-chart="trend"]')).to_be_visible()
        await expect(page.get_by_role("button", name="Edit agent")).to_have_count(0)
        await expect(page.locator("#nav")).not_to_contain_text("Users")
        session.assert_no_errors()
    finally:
        await session.close()

    # A manager with no campaign assigned: the server's answer is shown as it is.
    manager = await new_person(api, directory, owner.org_id, "MANAGER")
    session = await _signed_in(browser, services, manager)
    try:
        page = session.page
        await page.goto(f"/#/calls/{scene.compliant['id']}")
        await expect(page.get_by_role("alert")).to_contain_text("no call with id")
        await page.goto(f"/#/calls?campaign_id={scene.campaign_id}")
        await expect(page.locator(".calls-list")).to_contain_text("No call matches")
        session.assert_no_errors()
    finally:
        await session.close()
