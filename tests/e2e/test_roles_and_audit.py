"""Roles, users and the audit log through the REST API on the real stack.

A Manager sees their assigned campaigns' calls, an Agent the calls linked to their agent
profile, a Compliance Officer everything; owners manage users; the audit log records
views and changes, readable by Owners and Compliance Officers, never holding secrets.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.support.audio import render_noise
from tests.support.people import (
    OtherOrganisation,
    Person,
    login,
    new_person,
    other_organisation,
)
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


@dataclass(frozen=True)
class World:
    """Two campaigns of the demo organisation, their calls, and people of each role."""

    campaign_a: str
    campaign_b: str
    key_a: dict[str, str]
    key_b: dict[str, str]
    agent_1: str
    agent_2: str
    # Calls by name: a1 (A, agent 1), a2 (A, agent 2), b1 (B, agent 1), b2 (B, unlinked).
    calls: dict[str, str]
    manager: Person
    agent: Person
    officer: Person
    passwords: tuple[str, ...]


async def _held_campaign(directory: MongoDirectory, org_id: str, name: str) -> tuple[str, str]:
    """A campaign that holds its calls (no pipeline work) and a raw API key for it."""
    campaign_id = await directory.create_campaign(org_id, name, 70.0, DEFAULT_CHECKS)
    await directory.set_auto_processing(org_id, campaign_id, enabled=False)
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    return campaign_id, key.raw


async def _upload(
    api: httpx.AsyncClient, key: dict[str, str], path: Path, agent_code: str = ""
) -> str:
    with path.open("rb") as handle:
        response = await api.post(
            "/api/v1/calls/upload",
            headers=key,
            data={"agent_code": agent_code} if agent_code else {},
            files={"file": (path.name, handle)},
        )
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


async def _create_user(
    api: httpx.AsyncClient, owner: Person, role: str, **scope: Any
) -> tuple[dict[str, Any], Person]:
    """A user made by the owner through the API, then logged in."""
    email = f"{role.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    password = secrets.token_urlsafe(16)
    response = await api.post(
        "/api/v1/users",
        headers=owner.headers,
        json={"email": email, "password": password, "role": role, **scope},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    token = await login(api, email, password)
    return body, Person(body["id"], body["org_id"], email, password, role, token)


@pytest.fixture(scope="module")
async def world(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    owner: Person,
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    suffix = uuid.uuid4().hex[:6]
    campaign_a, raw_a = await _held_campaign(directory, owner.org_id, f"Roles A {suffix}")
    campaign_b, raw_b = await _held_campaign(directory, owner.org_id, f"Roles B {suffix}")
    key_a, key_b = {"X-API-Key": raw_a}, {"X-API-Key": raw_b}
    code_1, code_2 = f"R1{suffix}".upper(), f"R2{suffix}".upper()
    agent_1 = await directory.create_agent(
        owner.org_id, "Agent One", code_1, (campaign_a, campaign_b)
    )
    agent_2 = await directory.create_agent(owner.org_id, "Agent Two", code_2, (campaign_a,))
    folder = tmp_path_factory.mktemp("roles")
    calls: dict[str, str] = {}
    for seed, (name, key, code) in enumerate(
        (
            ("a1", key_a, code_1),
            ("a2", key_a, code_2),
            ("b1", key_b, code_1),
            ("b2", key_b, ""),
        )
    ):
        audio = render_noise(folder / f"{name}.wav", 11.0 + seed, seed=100 + seed)
        calls[name] = await _upload(api, key, audio, code)
    manager_body, manager = await _create_user(api, owner, "MANAGER", campaign_ids=[campaign_a])
    assert manager_body["campaign_ids"] == [campaign_a]
    agent_body, agent = await _create_user(api, owner, "AGENT", agent_id=agent_1.id)
    assert agent_body["agent_id"] == agent_1.id
    _, officer = await _create_user(api, owner, "COMPLIANCE_OFFICER")
    return World(
        campaign_a,
        campaign_b,
        key_a,
        key_b,
        agent_1.id,
        agent_2.id,
        calls,
        manager,
        agent,
        officer,
        (manager.password, agent.password, officer.password),
    )


async def _listed(api: httpx.AsyncClient, person: Person, **params: str) -> set[str]:
    response = await api.get("/api/v1/calls", headers=person.headers, params=params)
    assert response.status_code == 200, response.text
    return {call["id"] for call in response.json()["calls"]}


async def _entries(api: httpx.AsyncClient, reader: Person, **params: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/audit-log", headers=reader.headers, params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


# -- scopes ---------------------------------------------------------------------------------


async def test_a_manager_sees_the_assigned_campaign_and_nothing_of_another(
    api: httpx.AsyncClient, world: World
) -> None:
    manager, calls = world.manager, world.calls

    assert await _listed(api, manager, campaign_id=world.campaign_a) == {calls["a1"], calls["a2"]}
    assert await _listed(api, manager, campaign_id=world.campaign_b) == set()
    everything = await api.get("/api/v1/calls", headers=manager.headers, params={"limit": 200})
    assert {c["campaign_id"] for c in everything.json()["calls"]} == {world.campaign_a}

    assert (await api.get(f"/api/v1/calls/{calls['a1']}", headers=manager.headers)).is_success
    for name in ("b1", "b2"):
        hidden = await api.get(f"/api/v1/calls/{calls[name]}", headers=manager.headers)
        assert hidden.status_code == 404, hidden.text
        assert hidden.json()["error"]["code"] == "not_found"
        deleted = await api.delete(f"/api/v1/calls/{calls[name]}", headers=manager.headers)
        assert deleted.status_code == 404

    campaigns = await api.get("/api/v1/campaigns", headers=manager.headers)
    assert [c["id"] for c in campaigns.json()["campaigns"]] == [world.campaign_a]
    for path in (
        f"/api/v1/campaigns/{world.campaign_b}",
        f"/api/v1/campaigns/{world.campaign_b}/checks",
        f"/api/v1/campaigns/{world.campaign_b}/jobs",
        f"/api/v1/campaigns/{world.campaign_b}/sftp/batches",
    ):
        assert (await api.get(path, headers=manager.headers)).status_code == 404, path
    batch = await api.post(
        f"/api/v1/campaigns/{world.campaign_b}/upload-batches",
        headers=manager.headers,
        json={"files": [{"file_name": "x.wav"}]},
    )
    assert batch.status_code == 404, batch.text
    own_batch = await api.post(
        f"/api/v1/campaigns/{world.campaign_a}/upload-batches",
        headers=manager.headers,
        json={"files": [{"file_name": "x.wav"}]},
    )
    assert own_batch.status_code == 201, own_batch.text

    agents = await api.get("/api/v1/agents", headers=manager.headers)
    listed = agents.json()["agents"]
    assert {world.agent_1, world.agent_2} <= {a["id"] for a in listed}
    assert all(world.campaign_a in a["campaign_ids"] for a in listed)


async def test_an_agent_sees_only_the_calls_linked_to_them(
    api: httpx.AsyncClient, world: World
) -> None:
    agent, calls = world.agent, world.calls

    assert await _listed(api, agent) == {calls["a1"], calls["b1"]}
    assert await _listed(api, agent, agent_id=world.agent_2) == set()
    own = await api.get(f"/api/v1/calls/{calls['a1']}", headers=agent.headers)
    assert own.status_code == 200 and own.json()["agent"]["id"] == world.agent_1
    for name in ("a2", "b2"):
        other = await api.get(f"/api/v1/calls/{calls[name]}", headers=agent.headers)
        assert other.status_code == 404, other.text

    for refused in (
        await api.patch(
            f"/api/v1/calls/{calls['a1']}", headers=agent.headers, json={"call_type": "X"}
        ),
        await api.get(f"/api/v1/campaigns/{world.campaign_a}/jobs", headers=agent.headers),
        await api.post(
            f"/api/v1/campaigns/{world.campaign_a}/upload-batches",
            headers=agent.headers,
            json={"files": [{"file_name": "x.wav"}]},
        ),
        await api.get("/api/v1/agents", headers=agent.headers),
        await api.get("/api/v1/audit-log", headers=agent.headers),
    ):
        assert refused.status_code == 403, refused.text


async def test_a_compliance_officer_sees_every_campaign(
    api: httpx.AsyncClient, world: World
) -> None:
    officer, calls = world.officer, world.calls

    assert await _listed(api, officer, campaign_id=world.campaign_b) == {calls["b1"], calls["b2"]}
    for call_id in calls.values():
        assert (await api.get(f"/api/v1/calls/{call_id}", headers=officer.headers)).is_success


async def test_a_scope_change_applies_at_once(
    api: httpx.AsyncClient, world: World, owner: Person, directory: MongoDirectory
) -> None:
    person = await new_person(api, directory, owner.org_id, "MANAGER")
    url = f"/api/v1/calls/{world.calls['b1']}"
    assert (await api.get(url, headers=person.headers)).status_code == 404

    changed = await api.patch(
        f"/api/v1/users/{person.user_id}",
        headers=owner.headers,
        json={"campaign_ids": [world.campaign_b]},
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["campaign_ids"] == [world.campaign_b]
    assert (await api.get(url, headers=person.headers)).status_code == 200


# -- users ----------------------------------------------------------------------------------


async def test_the_owner_lists_the_organisations_users(
    api: httpx.AsyncClient, world: World, owner: Person, other: OtherOrganisation
) -> None:
    response = await api.get("/api/v1/users", headers=owner.headers)

    assert response.status_code == 200, response.text
    users = {user["id"]: user for user in response.json()["users"]}
    manager = users[world.manager.user_id]
    assert manager == {
        "id": world.manager.user_id,
        "org_id": owner.org_id,
        "email": world.manager.email,
        "role": "MANAGER",
        "campaign_ids": [world.campaign_a],
        "agent_id": None,
        "disabled": False,
        "created_at": manager["created_at"],
    }
    assert users[world.agent.user_id]["agent_id"] == world.agent_1
    assert owner.user_id in users and other.owner.user_id not in users
    assert all(user["org_id"] == owner.org_id for user in users.values())
    assert "password" not in response.text and "hash" not in response.text
    refused = await api.get("/api/v1/users", headers=world.manager.headers)
    assert refused.status_code == 403


async def test_changes_are_validated_with_clear_errors(
    api: httpx.AsyncClient, world: World, owner: Person, other: OtherOrganisation
) -> None:
    url = f"/api/v1/users/{world.manager.user_id}"
    foreign_agent = await api.post(
        "/api/v1/agents",
        headers=other.owner.headers,
        json={"name": "Theirs", "code": f"TH{uuid.uuid4().hex[:6]}"},
    )
    assert foreign_agent.status_code == 201, foreign_agent.text
    cases = [
        ({"campaign_ids": [other.campaign_id]}, 422, "unknown_campaign"),
        ({"agent_id": foreign_agent.json()["id"]}, 422, "unknown_agent"),
        ({"role": "ADMIN"}, 422, "invalid_request"),
        ({"role": None}, 422, "invalid_request"),
        ({"disabled": "yes"}, 422, "invalid_request"),
        ({}, 422, "invalid_field"),
    ]
    for body, status, code in cases:
        response = await api.patch(url, headers=owner.headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code, body
        assert response.json()["error"]["message"]
    assert (await api.get("/api/v1/calls", headers=world.manager.headers)).is_success


async def test_a_disabled_user_is_refused_and_can_be_enabled_again(
    api: httpx.AsyncClient,
    owner: Person,
    directory: MongoDirectory,
    stores: StoreInspector,
) -> None:
    person = await new_person(api, directory, owner.org_id, "COMPLIANCE_OFFICER")
    url = f"/api/v1/users/{person.user_id}"

    disabled = await api.patch(url, headers=owner.headers, json={"disabled": True})

    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    refused = await api.get("/api/v1/campaigns", headers=person.headers)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "not_authenticated"
    assert await stores.count("sessions", {"user_id": person.user_id}) == 0
    no_login = await api.post(
        "/api/v1/auth/login", json={"email": person.email, "password": person.password}
    )
    assert no_login.status_code == 401
    assert no_login.json()["error"]["code"] == "account_disabled"
    assert "token" not in no_login.json()

    enabled = await api.patch(url, headers=owner.headers, json={"disabled": False})
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    token = await login(api, person.email, person.password)
    me = await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


async def test_a_deleted_user_loses_their_sessions(
    api: httpx.AsyncClient, owner: Person, directory: MongoDirectory, stores: StoreInspector
) -> None:
    person = await new_person(api, directory, owner.org_id, "SENIOR_MANAGER")

    deleted = await api.delete(f"/api/v1/users/{person.user_id}", headers=owner.headers)

    assert deleted.status_code == 204, deleted.text
    assert (await api.get("/api/v1/campaigns", headers=person.headers)).status_code == 401
    assert await stores.count("users", {"_id": person.user_id}) == 0
    assert await stores.count("sessions", {"user_id": person.user_id}) == 0
    again = await api.delete(f"/api/v1/users/{person.user_id}", headers=owner.headers)
    assert again.status_code == 404


async def test_the_last_owner_cannot_demote_disable_or_delete_themselves(
    api: httpx.AsyncClient, directory: MongoDirectory
) -> None:
    org = await other_organisation(api, directory)
    me = org.owner
    url = f"/api/v1/users/{me.user_id}"

    for refused in (
        await api.patch(url, headers=me.headers, json={"role": "MANAGER"}),
        await api.patch(url, headers=me.headers, json={"disabled": True}),
        await api.delete(url, headers=me.headers),
    ):
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "last_owner"
        assert "owner" in refused.json()["error"]["message"]
    assert (await api.get("/api/v1/users", headers=me.headers)).is_success

    _, second = await _create_user(api, me, "OWNER")
    demoted = await api.patch(url, headers=me.headers, json={"role": "SENIOR_MANAGER"})
    assert demoted.status_code == 200, demoted.text
    assert (await api.get("/api/v1/users", headers=me.headers)).status_code == 403
    last = await api.delete(f"/api/v1/users/{second.user_id}", headers=second.headers)
    assert last.status_code == 409


async def test_another_organisations_users_cannot_be_touched(
    api: httpx.AsyncClient, world: World, other: OtherOrganisation
) -> None:
    url = f"/api/v1/users/{world.manager.user_id}"

    changed = await api.patch(url, headers=other.owner.headers, json={"role": "OWNER"})
    deleted = await api.delete(url, headers=other.owner.headers)

    for response in (changed, deleted):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert (await api.get("/api/v1/calls", headers=world.manager.headers)).is_success


# -- audit log ------------------------------------------------------------------------------


async def test_views_are_recorded_once_per_actor_and_call(
    api: httpx.AsyncClient, world: World, owner: Person
) -> None:
    call_id = world.calls["a2"]
    for _ in range(3):
        assert (await api.get(f"/api/v1/calls/{call_id}", headers=owner.headers)).is_success
    await api.get(f"/api/v1/calls/{call_id}/analyses", headers=owner.headers)
    assert (await api.get(f"/api/v1/calls/{call_id}", headers=world.key_a)).is_success

    views = await _entries(api, owner, target_id=call_id, action="VIEWED")

    by_owner = [entry for entry in views if entry["actor"] == owner.user_id]
    assert len(by_owner) == 1, views
    entry = by_owner[0]
    assert entry["actor_type"] == "user" and entry["actor_email"] == owner.email
    assert entry["target_type"] == "call" and entry["campaign_id"] == world.campaign_a
    assert entry["method"] == "GET" and entry["route"].startswith("/api/v1/calls/{call_id}")
    by_key = [entry for entry in views if entry["actor"].startswith("api_key:")]
    assert len(by_key) == 1 and by_key[0]["actor_email"] is None


async def test_changes_and_deletes_are_recorded_with_their_actor(
    api: httpx.AsyncClient, world: World, owner: Person
) -> None:
    call_a, call_b = world.calls["a1"], world.calls["b2"]
    changed = await api.patch(
        f"/api/v1/calls/{call_a}", headers=world.manager.headers, json={"call_type": "INBOUND"}
    )
    assert changed.status_code == 200, changed.text
    deleted = await api.delete(f"/api/v1/calls/{call_b}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text

    change = (await _entries(api, owner, target_id=call_a, action="CHANGED"))[0]
    assert change["actor"] == world.manager.user_id
    assert change["actor_email"] == world.manager.email
    assert change["summary"] == {"fields": ["call_type"]}
    assert change["campaign_id"] == world.campaign_a
    history = await _entries(api, world.officer, target_id=call_b)
    # Newest first: the upload by the campaign's key, views, then the deletion.
    assert history[0]["action"] == "DELETED" and history[-1]["action"] == "CREATED"
    assert history[-1]["actor"].startswith("api_key:")
    deletion = [entry for entry in history if entry["action"] == "DELETED"]
    assert len(deletion) == 1
    assert deletion[0]["actor"] == owner.user_id
    assert deletion[0]["campaign_id"] == world.campaign_b

    user_changes = await _entries(
        api, owner, target_type="user", target_id=world.manager.user_id, action="CREATED"
    )
    assert user_changes and user_changes[0]["summary"]["role"] == "MANAGER"
    by_email = await _entries(api, owner, actor=world.manager.email, action="CHANGED")
    assert change["id"] in [entry["id"] for entry in by_email]


async def test_the_log_is_for_owners_and_compliance_officers_of_the_org(
    api: httpx.AsyncClient, world: World, owner: Person, other: OtherOrganisation
) -> None:
    assert (await api.get(f"/api/v1/calls/{world.calls['a1']}", headers=owner.headers)).is_success

    for refused in (world.manager, world.agent):
        response = await api.get("/api/v1/audit-log", headers=refused.headers)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    by_key = await api.get("/api/v1/audit-log", headers=world.key_a)
    assert by_key.status_code == 403

    theirs = await _entries(api, other.owner, limit="200")
    assert all(entry["actor"] != owner.user_id for entry in theirs)
    assert not await _entries(api, other.owner, target_id=world.calls["a1"])
    assert await _entries(api, world.officer, target_id=world.calls["a1"])


async def test_pages_run_newest_first_and_filters_are_checked(
    api: httpx.AsyncClient, world: World, owner: Person
) -> None:
    first = await api.get("/api/v1/audit-log", headers=owner.headers, params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert len(page["entries"]) == 2 and page["next_cursor"]
    second = await api.get(
        "/api/v1/audit-log",
        headers=owner.headers,
        params={"limit": 2, "cursor": page["next_cursor"]},
    )
    ats = [entry["at"] for entry in page["entries"] + second.json()["entries"]]
    assert ats == sorted(ats, reverse=True)
    ids = [entry["id"] for entry in page["entries"] + second.json()["entries"]]
    assert len(set(ids)) == len(ids)

    for params in ({"action": "EXPLODED"}, {"target_type": "planet"}, {"cursor": "nonsense!"}):
        refused = await api.get("/api/v1/audit-log", headers=owner.headers, params=params)
        assert refused.status_code == 400, (params, refused.text)
        assert refused.json()["error"]["code"] == "invalid_request"


async def test_entries_never_hold_secrets(
    api: httpx.AsyncClient,
    world: World,
    owner: Person,
    services: RunningServices,
    stores: StoreInspector,
) -> None:
    await login(api, world.officer.email, world.officer.password)
    logins = await _entries(api, owner, action="LOGGED_IN", actor=world.officer.user_id)
    assert logins and logins[0]["target_id"] == world.officer.user_id
    created = await api.post(
        f"/api/v1/campaigns/{world.campaign_a}/api-keys", headers=owner.headers
    )
    assert created.status_code == 201
    raw_key = created.json()["key"]

    stored = [
        document
        async for document in stores.mongo[services.database]["audit_log"].find(
            {"org_id": owner.org_id}
        )
    ]
    text = str(stored)
    for secret in (*world.passwords, owner.password, raw_key, world.key_a["X-API-Key"]):
        assert secret not in text
    for person in (owner, world.manager, world.agent, world.officer):
        assert person.token not in text
    assert "password" not in text and "csrf" not in text
    key_entries = await _entries(api, owner, target_type="api_key", action="CREATED")
    assert key_entries[0]["target_id"] == created.json()["id"]
