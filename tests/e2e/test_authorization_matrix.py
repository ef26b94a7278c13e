"""Every REST route × every role × own and other organisation, against one table.

`TABLE` is the specification: for each route, the roles that may use it. The test asks the
live gateway's OpenAPI document for its routes, so a route added without an entry here fails
`test_every_route_has_an_entry`. Each route's test sends the same request as each principal:

- anonymous: 401;
- a role the table does not allow: 403 (401 where the route needs a login session);
- an allowed role, on its own organisation's objects: not refused (no 401, 403 or 404; a
  409 or 422 about the object's state is an answer, not a refusal);
- an allowed role, on another organisation's objects, or on objects of its own organisation
  outside its scope (`beyond`: a campaign the Manager is not assigned to and the API key is
  not for, a call not linked to the Agent): no success (404, or 403 `wrong_campaign` for a
  key), and lists hold none of those objects' ids.

Whatever answers, no body may contain an id the principal may not see.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory

from tests.e2e.conftest import wait_until_done
from tests.support.audio import RenderedAudio
from tests.support.people import OtherOrganisation, Person, login, new_person, person_seeing

ANONYMOUS = "ANONYMOUS"
AGENT, MANAGER, OFFICER = "AGENT", "MANAGER", "COMPLIANCE_OFFICER"
SENIOR, OWNER, API_KEY = "SENIOR_MANAGER", "OWNER", "API_KEY"
USER_ROLES = (AGENT, MANAGER, OFFICER, SENIOR, OWNER)
PRINCIPALS = (ANONYMOUS, *USER_ROLES, API_KEY)

EVERYONE = frozenset({*USER_ROLES, API_KEY})
STAFF = frozenset({MANAGER, OFFICER, SENIOR, OWNER})
SENIORS = frozenset({SENIOR, OWNER})
USERS = frozenset(USER_ROLES)
CALL_READERS = STAFF | {AGENT, API_KEY}
CALL_MANAGERS = STAFF | {API_KEY}


@dataclass(frozen=True)
class Rule:
    """Who may use a route, and what a refusal looks like when it is not about the role."""

    allowed: frozenset[str]
    # A route that only takes a login session answers an API key 401, not 403.
    sessions_only: bool = False
    # No credentials needed (login).
    public: bool = False


# The specification. Sources: the product guide's role table (upload and reprocess: staff;
# view calls: own calls / assigned campaigns / all; configure SFTP and API keys: Senior
# Manager and Owner), issue 7 (Owners manage users; Owners and Compliance Officers read the
# audit log), docs/api.md's roles section for the rest.
TABLE: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/auth/login"): Rule(frozenset(), public=True),
    ("POST", "/api/v1/auth/logout"): Rule(USERS, sessions_only=True),
    ("GET", "/api/v1/auth/me"): Rule(USERS, sessions_only=True),
    # Users and the audit log.
    ("GET", "/api/v1/users"): Rule(frozenset({OWNER})),
    ("POST", "/api/v1/users"): Rule(frozenset({OWNER})),
    ("PATCH", "/api/v1/users/{user_id}"): Rule(frozenset({OWNER})),
    ("DELETE", "/api/v1/users/{user_id}"): Rule(frozenset({OWNER})),
    ("GET", "/api/v1/audit-log"): Rule(frozenset({OWNER, OFFICER})),
    # Campaigns, checks, API keys, SFTP.
    ("GET", "/api/v1/campaigns"): Rule(EVERYONE),
    ("POST", "/api/v1/campaigns"): Rule(SENIORS),
    ("GET", "/api/v1/campaigns/{campaign_id}"): Rule(EVERYONE),
    ("PATCH", "/api/v1/campaigns/{campaign_id}"): Rule(SENIORS),
    ("GET", "/api/v1/campaigns/{campaign_id}/checks"): Rule(EVERYONE),
    ("POST", "/api/v1/campaigns/{campaign_id}/checks"): Rule(SENIORS),
    ("PUT", "/api/v1/campaigns/{campaign_id}/checks/order"): Rule(SENIORS),
    ("GET", "/api/v1/campaigns/{campaign_id}/checks/{check_id}"): Rule(EVERYONE),
    ("PATCH", "/api/v1/campaigns/{campaign_id}/checks/{check_id}"): Rule(SENIORS),
    ("DELETE", "/api/v1/campaigns/{campaign_id}/checks/{check_id}"): Rule(SENIORS),
    ("GET", "/api/v1/campaigns/{campaign_id}/api-keys"): Rule(SENIORS),
    ("POST", "/api/v1/campaigns/{campaign_id}/api-keys"): Rule(SENIORS),
    ("DELETE", "/api/v1/api-keys/{key_id}"): Rule(SENIORS),
    # Configuring SFTP is for seniors; following its batches is for whoever follows uploads.
    ("GET", "/api/v1/campaigns/{campaign_id}/sftp/batches"): Rule(CALL_MANAGERS),
    ("GET", "/api/v1/campaigns/{campaign_id}/sftp/batches/{batch_id}"): Rule(CALL_MANAGERS),
    ("GET", "/api/v1/campaigns/{campaign_id}/sftp/files"): Rule(CALL_MANAGERS),
    ("GET", "/api/v1/sftp/status"): Rule(SENIORS),
    # Agents.
    ("GET", "/api/v1/agents"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/agents"): Rule(SENIORS),
    ("GET", "/api/v1/agents/{agent_id}"): Rule(CALL_MANAGERS),
    ("PATCH", "/api/v1/agents/{agent_id}"): Rule(SENIORS),
    # An agent follows their own score trend (other agents' are outside their scope: 404).
    ("GET", "/api/v1/agents/{agent_id}/trend"): Rule(CALL_READERS),
    # Uploads and jobs.
    ("POST", "/api/v1/calls/upload"): Rule(frozenset({API_KEY})),
    ("POST", "/api/v1/campaigns/{campaign_id}/upload-batches"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/campaigns/{campaign_id}/bulk-uploads/preview"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/campaigns/{campaign_id}/bulk-jobs"): Rule(CALL_MANAGERS),
    ("PUT", "/api/v1/jobs/{job_id}/items/{item_id}/file"): Rule(CALL_MANAGERS),
    ("GET", "/api/v1/campaigns/{campaign_id}/jobs"): Rule(CALL_MANAGERS),
    ("GET", "/api/v1/jobs/{job_id}"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/jobs/{job_id}/items/{item_id}/cancel"): Rule(CALL_MANAGERS),
    # Calls: reading.
    ("GET", "/api/v1/calls"): Rule(CALL_READERS),
    ("GET", "/api/v1/calls/{call_id}"): Rule(CALL_READERS),
    ("GET", "/api/v1/calls/{call_id}/transcript"): Rule(CALL_READERS),
    ("GET", "/api/v1/calls/{call_id}/analysis"): Rule(CALL_READERS),
    ("GET", "/api/v1/calls/{call_id}/analyses"): Rule(CALL_READERS),
    ("GET", "/api/v1/calls/{call_id}/analyses/diff"): Rule(CALL_READERS),
    ("GET", "/api/v1/calls/{call_id}/audio"): Rule(CALL_READERS),
    ("GET", "/api/v1/dashboard"): Rule(CALL_READERS),
    # Calls: changing and reprocessing.
    ("PATCH", "/api/v1/calls/{call_id}"): Rule(CALL_MANAGERS),
    ("PUT", "/api/v1/calls/{call_id}/agent"): Rule(CALL_MANAGERS),
    ("DELETE", "/api/v1/calls/{call_id}/agent"): Rule(CALL_MANAGERS),
    ("DELETE", "/api/v1/calls/{call_id}"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/calls/{call_id}/process"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/calls/{call_id}/rerun-transcription"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/calls/{call_id}/run-analysis"): Rule(CALL_MANAGERS),
    ("POST", "/api/v1/calls/{call_id}/swap-speakers"): Rule(CALL_MANAGERS),
    # Review.
    ("GET", "/api/v1/review-queue"): Rule(STAFF),
    ("POST", "/api/v1/calls/{call_id}/overrides"): Rule(STAFF),
    ("POST", "/api/v1/calls/{call_id}/review"): Rule(STAFF),
}

REFUSED = {401, 403, 404}


@dataclass
class Side:
    """One side of the test: the ids a request fills its path with."""

    org_id: str
    campaign_id: str
    call_id: str
    check_id: str
    job_id: str
    item_id: str
    key_id: str
    agent_id: str
    user_id: str
    # Objects a request destroys are made afresh for each request.
    fresh: dict[str, Callable[[], Awaitable[str]]] = field(default_factory=dict)


@dataclass
class World:
    """Organisation A (the demo org) as seen by each role, and organisation B."""

    api: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    people: dict[str, Person]
    own: Side
    other: Side
    # Organisation A's campaign that the Manager is not assigned to and the API key is not for.
    beyond: Side
    # For each principal: ids of objects in organisation A it may not see.
    hidden_in_own: dict[str, set[str]]
    other_ids: set[str]
    wav: bytes


async def _json(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, f"{response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _distinct(wav: bytes) -> bytes:
    """The recording with its last samples changed, so duplicate detection lets it in."""
    return wav[:-64] + os.urandom(64)


async def _upload(api: httpx.AsyncClient, key: str, wav: bytes, **metadata: str) -> str:
    response = await api.post(
        "/api/v1/calls/upload",
        headers={"X-API-Key": key},
        data=metadata,
        files={"file": (f"matrix-{uuid.uuid4().hex[:8]}.wav", _distinct(wav), "audio/wav")},
    )
    call_id: str = (await _json(response))["id"]
    return call_id


async def _side(
    api: httpx.AsyncClient,
    admin: Person,
    directory: MongoDirectory,
    org_id: str,
    campaign_id: str,
    key: str,
    wav: bytes,
    agent_code: str,
) -> Side:
    """Objects of one campaign: a completed call linked to an agent, a job, a key, a user."""
    auth = admin.headers
    agent = await _json(
        await api.post(
            "/api/v1/agents",
            headers=auth,
            json={"name": f"Agent {agent_code}", "code": agent_code, "campaign_ids": [campaign_id]},
        )
    )
    call_id = await _upload(api, key, wav, agent_code=agent_code)
    await wait_until_done(api, key, call_id)
    checks = await _json(await api.get(f"/api/v1/campaigns/{campaign_id}/checks", headers=auth))
    job = await _json(
        await api.post(
            f"/api/v1/campaigns/{campaign_id}/upload-batches",
            headers=auth,
            json={"files": [{"file_name": "matrix.wav", "size_bytes": len(wav)}]},
        )
    )
    made_key = await _json(
        await api.post(f"/api/v1/campaigns/{campaign_id}/api-keys", headers=auth, json={})
    )
    user = await new_person(api, directory, org_id, "MANAGER")

    async def fresh_call() -> str:
        return await _upload(api, key, wav)

    async def fresh_check() -> str:
        check = await _json(
            await api.post(
                f"/api/v1/campaigns/{campaign_id}/checks",
                headers=auth,
                json={"name": f"Matrix {uuid.uuid4().hex[:6]}", "question": "Q?", "weight": 1.0},
            )
        )
        check_id: str = check["id"]
        return check_id

    async def fresh_key() -> str:
        made = await _json(
            await api.post(f"/api/v1/campaigns/{campaign_id}/api-keys", headers=auth, json={})
        )
        key_id: str = made["id"]
        return key_id

    async def fresh_user() -> str:
        return (await new_person(api, directory, org_id, "AGENT")).user_id

    return Side(
        org_id=org_id,
        campaign_id=campaign_id,
        call_id=call_id,
        check_id=checks["checks"][0]["id"],
        job_id=job["id"],
        item_id=job["items"][0]["id"],
        key_id=made_key["id"],
        agent_id=agent["id"],
        user_id=user.user_id,
        fresh={
            "call_id": fresh_call,
            "check_id": fresh_check,
            "key_id": fresh_key,
            "user_id": fresh_user,
        },
    )


@pytest.fixture(scope="module")
async def world(
    api: httpx.AsyncClient,
    owner: Person,
    other: OtherOrganisation,
    directory: MongoDirectory,
    rendered: dict[str, RenderedAudio],
) -> World:
    wav = rendered["no_greeting"].path.read_bytes()
    suffix = uuid.uuid4().hex[:6].upper()
    auth = owner.headers
    mine = await _json(
        await api.post("/api/v1/campaigns", headers=auth, json={"name": f"Matrix A {suffix}"})
    )
    unassigned = await _json(
        await api.post("/api/v1/campaigns", headers=auth, json={"name": f"Matrix A2 {suffix}"})
    )
    key = (
        await _json(
            await api.post(f"/api/v1/campaigns/{mine['id']}/api-keys", headers=auth, json={})
        )
    )["key"]
    unassigned_key = (
        await _json(
            await api.post(f"/api/v1/campaigns/{unassigned['id']}/api-keys", headers=auth, json={})
        )
    )["key"]
    own = await _side(api, owner, directory, owner.org_id, mine["id"], key, wav, f"MA{suffix}")
    other_side = await _side(
        api,
        other.owner,
        directory,
        other.org_id,
        other.campaign_id,
        other.api_key,
        wav,
        f"MB{suffix}",
    )
    beyond = await _side(
        api, owner, directory, owner.org_id, unassigned["id"], unassigned_key, wav, f"MC{suffix}"
    )
    # Calls of organisation A outside some principals' scope.
    colleague_call = await _upload(api, key, wav)  # in the campaign, linked to nobody
    unassigned_call = await _upload(api, unassigned_key, wav)
    people = {
        role: await person_seeing(api, directory, owner.org_id, role, mine["id"])
        for role in USER_ROLES
        if role != OWNER
    }
    people[OWNER] = owner
    # The Agent must be the agent the call is linked to.
    people[AGENT] = await new_person(api, directory, owner.org_id, AGENT, agent_id=own.agent_id)
    headers = {role: person.headers for role, person in people.items()}
    headers[API_KEY] = {"X-API-Key": key}
    headers[ANONYMOUS] = {}
    beyond_campaign = {unassigned["id"], unassigned_call, beyond.call_id, beyond.job_id}
    return World(
        api=api,
        headers=headers,
        people=people,
        own=own,
        other=other_side,
        beyond=beyond,
        hidden_in_own={
            AGENT: {*beyond_campaign, colleague_call},
            MANAGER: beyond_campaign,
            API_KEY: beyond_campaign,
        },
        other_ids={
            other_side.campaign_id,
            other_side.call_id,
            other_side.job_id,
            other_side.key_id,
            other_side.agent_id,
            other_side.user_id,
            other.org_id,
        },
        wav=wav,
    )


def _body(method: str, path: str, side: Side, world: World) -> dict[str, Any]:
    """A valid request for the route (so that only authorization can refuse it)."""
    tag = uuid.uuid4().hex[:6]
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/v1/users"): {
            "json": {
                "email": f"matrix-{tag}@example.com",
                "password": "a long enough password",
                "role": "AGENT",
            }
        },
        ("PATCH", "/api/v1/users/{user_id}"): {"json": {"role": "MANAGER"}},
        ("POST", "/api/v1/campaigns"): {"json": {"name": f"Matrix made {tag}"}},
        ("PATCH", "/api/v1/campaigns/{campaign_id}"): {"json": {"flag_threshold": 70}},
        ("POST", "/api/v1/campaigns/{campaign_id}/checks"): {
            "json": {"name": f"Matrix {tag}", "question": "Asked?", "weight": 1.0}
        },
        ("PUT", "/api/v1/campaigns/{campaign_id}/checks/order"): {
            "json": {"check_ids": [side.check_id]}
        },
        ("PATCH", "/api/v1/campaigns/{campaign_id}/checks/{check_id}"): {"json": {"weight": 1.0}},
        ("POST", "/api/v1/campaigns/{campaign_id}/api-keys"): {"json": {"name": tag}},
        ("POST", "/api/v1/agents"): {
            "json": {"name": f"Agent {tag}", "code": f"MX{tag}", "campaign_ids": []}
        },
        ("PATCH", "/api/v1/agents/{agent_id}"): {"json": {"name": f"Agent {tag}"}},
        ("POST", "/api/v1/calls/upload"): {
            "files": {"file": (f"matrix-{tag}.wav", _distinct(world.wav), "audio/wav")}
        },
        ("POST", "/api/v1/campaigns/{campaign_id}/upload-batches"): {
            "json": {"files": [{"file_name": f"m-{tag}.wav", "size_bytes": len(world.wav)}]}
        },
        ("POST", "/api/v1/campaigns/{campaign_id}/bulk-uploads/preview"): {
            "files": {"csv": ("calls.csv", b"file_name\nm.wav\n", "text/csv")},
            "data": {"file_names": "m.wav"},
        },
        ("POST", "/api/v1/campaigns/{campaign_id}/bulk-jobs"): {
            "files": {"csv": ("calls.csv", b"file_name\nm.wav\n", "text/csv")},
            "data": {"file_names": "m.wav"},
        },
        ("PUT", "/api/v1/jobs/{job_id}/items/{item_id}/file"): {
            "content": _distinct(world.wav),
            "headers": {"Content-Type": "application/octet-stream"},
        },
        ("PATCH", "/api/v1/calls/{call_id}"): {"json": {"disposition": f"Matrix {tag}"}},
        ("PUT", "/api/v1/calls/{call_id}/agent"): {"json": {"agent_id": side.agent_id}},
        ("POST", "/api/v1/calls/{call_id}/run-analysis"): {"json": {}},
        ("POST", "/api/v1/calls/{call_id}/swap-speakers"): {"json": {}},
        ("POST", "/api/v1/calls/{call_id}/overrides"): {
            "json": {"check_id": side.check_id, "answer": "YES", "comment": "matrix"}
        },
        ("POST", "/api/v1/calls/{call_id}/review"): {"json": {"note": "matrix"}},
        ("POST", "/api/v1/auth/login"): {
            "json": {
                "email": world.people[OWNER].email,
                "password": world.people[OWNER].password,
            }
        },
    }
    return bodies.get((method, path), {})


_QUERY: dict[str, dict[str, str]] = {
    "/api/v1/calls/{call_id}/analyses/diff": {"from": "1"},
    "/api/v1/calls": {"campaign_id": "{campaign_id}"},
    "/api/v1/dashboard": {"campaign_id": "{campaign_id}"},
    "/api/v1/review-queue": {"campaign_id": "{campaign_id}"},
    "/api/v1/campaigns/{campaign_id}/sftp/files": {},
}


async def _fill(path: str, side: Side, *, destructive: bool) -> str:
    values = {
        "campaign_id": side.campaign_id,
        "call_id": side.call_id,
        "check_id": side.check_id,
        "job_id": side.job_id,
        "item_id": side.item_id,
        "key_id": side.key_id,
        "agent_id": side.agent_id,
        "user_id": side.user_id,
        # No SFTP batch exists: an unknown id, refused the same way on both sides.
        "batch_id": "0" * 24,
    }
    for name in values:
        if destructive and f"{{{name}}}" in path and name in side.fresh:
            values[name] = await side.fresh[name]()
    return path.format(**values)


async def _send(world: World, principal: str, method: str, path: str, side: Side) -> httpx.Response:
    destructive = method == "DELETE" or path.endswith("/cancel")
    url = await _fill(path, side, destructive=destructive)
    request = _body(method, path, side, world)
    headers = {**world.headers[principal], **request.pop("headers", {})}
    if path == "/api/v1/auth/logout" and principal in world.people:
        person = world.people[principal]
        # Log out a session of its own, not the one the other rows use.
        headers = {
            "Authorization": f"Bearer {await login(world.api, person.email, person.password)}"
        }
    params = {
        name: value.format(campaign_id=side.campaign_id)
        for name, value in _QUERY.get(path, {}).items()
    }
    return await world.api.request(method, url, headers=headers, params=params, **request)


def _out_of_scope(principal: str, path: str) -> bool:
    """Whether the principal's scope excludes the `beyond` side's object in this path."""
    if "{call_id}" in path or "{job_id}" in path:
        return principal in {MANAGER, AGENT, API_KEY}
    if "{campaign_id}" in path:
        return principal in {MANAGER, API_KEY}
    return False


def _leaks(response: httpx.Response, hidden: set[str]) -> set[str]:
    """Hidden ids in the answer; an id the request itself named may be echoed back (a list's
    filters say what was asked) without showing anything of the object."""
    asked = str(response.request.url)
    return {each for each in hidden if each and each in response.text and each not in asked}


def _judge(rule: Rule, principal: str, side_name: str, path: str, status: int) -> str | None:
    """What is wrong with this answer under the table, or None."""
    if rule.public:
        return "a public route refused" if status in {401, 403} else None
    if principal == ANONYMOUS:
        return None if status == 401 else "expected 401 without credentials"
    if principal not in rule.allowed:
        expected = 401 if rule.sessions_only and principal == API_KEY else 403
        return None if status == expected else f"expected {expected}"
    if side_name == "own" and "{batch_id}" not in path and status in REFUSED:
        return "refused its own"
    if side_name != "own" and status < 300 and "{" in path:
        return "reached an object outside its scope"
    return None


async def _verdicts(world: World, method: str, path: str) -> list[str]:
    """What went against the table for this route, one line per mismatch."""
    rule = TABLE[(method, path)]
    problems: list[str] = []
    for principal in PRINCIPALS:
        sides = [("own", world.own), ("other", world.other)]
        if _out_of_scope(principal, path):
            sides.append(("beyond", world.beyond))
        for side_name, side in sides:
            response = await _send(world, principal, method, path, side)
            status = response.status_code
            where = f"{principal:18} {side_name:6} → {status}"
            hidden = world.other_ids | world.hidden_in_own.get(principal, set())
            if (leaked := _leaks(response, hidden)) and status < 300:
                problems.append(f"{where}: shows ids it may not see {sorted(leaked)}")
            if status >= 500:
                problems.append(f"{where}: server error {response.text[:200]}")
            elif (wrong := _judge(rule, principal, side_name, path, status)) is not None:
                problems.append(f"{where}: {wrong} {response.text[:160]}")
    return problems


async def test_every_route_has_an_entry(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    served = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    missing = sorted(served - TABLE.keys())
    stale = sorted(TABLE.keys() - served)
    assert not missing, f"routes without an entry in the authorization table: {missing}"
    assert not stale, f"entries for routes that no longer exist: {stale}"


@pytest.mark.parametrize(
    ("method", "path"), [pytest.param(*route, id=" ".join(route)) for route in sorted(TABLE)]
)
async def test_route_answers_each_principal_as_the_table_says(
    world: World, method: str, path: str
) -> None:
    problems = await _verdicts(world, method, path)
    assert not problems, f"{method} {path}:\n" + "\n".join(problems)
