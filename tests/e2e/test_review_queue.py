"""The review queue over the REST API: flagged calls wait, a reviewer overrides a check (a new
analysis version the call's score follows) and marks the call reviewed; scope and roles hold."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.e2e.conftest import wait_until_done
from tests.support.audio import render_stereo
from tests.support.people import OtherOrganisation, Person, new_person
from tests.support.polling import wait_for
from tests.support.scripts import NO_EMPATHY, NO_GREETING
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

QUEUE = "/api/v1/review-queue"


@dataclass(frozen=True)
class Reviewed:
    """A campaign of this module's own (threshold 95), its key and two flagged calls."""

    org_id: str
    campaign_id: str
    key: dict[str, str]
    no_greeting: str
    no_empathy: str


async def _upload(api: httpx.AsyncClient, headers: dict[str, str], path: Path) -> str:
    with path.open("rb") as handle:
        response = await api.post(
            "/api/v1/calls/upload", headers=headers, files={"file": (path.name, handle)}
        )
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


@pytest.fixture(scope="module")
async def reviewed(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Reviewed:
    org_id = services.credentials["org_id"]
    campaign_id = await directory.create_campaign(org_id, "Reviewed", 95.0, DEFAULT_CHECKS)
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    headers = {"X-API-Key": key.raw}
    folder = tmp_path_factory.mktemp("review")
    ids = [
        await _upload(api, headers, render_stereo(script.dialogue, folder / name).path)
        for script, name in ((NO_GREETING, "rq_no_greeting.wav"), (NO_EMPATHY, "rq_no_empathy.wav"))
    ]
    done = await asyncio.gather(*(wait_until_done(api, key.raw, i) for i in ids))
    assert [call["status"] for call in done] == ["COMPLETED", "COMPLETED"], done
    assert [call["score"] for call in done] == [85.0, 80.0]
    assert all(call["flagged"] and call["review"] is None for call in done)
    return Reviewed(org_id, campaign_id, headers, ids[0], ids[1])


async def _queue(api: httpx.AsyncClient, person: Person, **params: Any) -> dict[str, Any]:
    response = await api.get(QUEUE, headers=person.headers, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _queued_ids(api: httpx.AsyncClient, person: Person, campaign_id: str) -> set[str]:
    page = await _queue(api, person, campaign_id=campaign_id, limit=200)
    return {call["id"] for call in page["calls"]}


async def _call_with(
    api: httpx.AsyncClient, reviewed: Reviewed, call_id: str, analysis_version: int
) -> dict[str, Any]:
    async def updated() -> dict[str, Any] | None:
        call: dict[str, Any] = (
            await api.get(f"/api/v1/calls/{call_id}", headers=reviewed.key)
        ).json()
        return call if call["analysis_version"] == analysis_version else None

    return await wait_for(
        updated, timeout_s=60, interval_s=0.5, describe=f"analysis {analysis_version}"
    )


async def test_flagged_unreviewed_calls_wait_in_the_queue_with_their_reasons(
    api: httpx.AsyncClient, owner: Person, reviewed: Reviewed
) -> None:
    page = await _queue(api, owner, campaign_id=reviewed.campaign_id)

    calls = {call["id"]: call for call in page["calls"]}
    assert set(calls) == {reviewed.no_greeting, reviewed.no_empathy}
    # Newest first.
    assert [call["id"] for call in page["calls"]] == [reviewed.no_empathy, reviewed.no_greeting]
    assert calls[reviewed.no_greeting]["flag_reasons"] == ["score 85.0 is below the threshold 95"]
    assert all(call["status"] == "COMPLETED" and call["flagged"] for call in calls.values())
    first = await _queue(api, owner, campaign_id=reviewed.campaign_id, limit=1)
    second = await _queue(
        api, owner, campaign_id=reviewed.campaign_id, limit=1, cursor=first["next_cursor"]
    )
    assert [c["id"] for c in first["calls"] + second["calls"]] == [
        reviewed.no_empathy,
        reviewed.no_greeting,
    ]


async def test_an_override_is_a_new_version_the_call_follows_and_the_ai_answer_stays(
    api: httpx.AsyncClient,
    owner: Person,
    reviewed: Reviewed,
    stores: StoreInspector,
    services: RunningServices,
) -> None:
    url = f"/api/v1/calls/{reviewed.no_greeting}"
    original = (await api.get(f"{url}/analysis", headers=owner.headers)).json()
    assert original["version"] == 1
    greeting = next(r for r in original["results"] if r["check_id"] == "greeting")
    assert (greeting["answer"], greeting["ai_answer"], greeting["override"]) == ("NO", "NO", None)

    response = await api.post(
        f"{url}/overrides",
        headers=owner.headers,
        json={
            "check_id": "greeting",
            "answer": "YES",
            "comment": "The agent greets at 00:01; the recording clipped it.",
            "version": 1,
        },
    )

    assert response.status_code == 201, response.text
    analysis = response.json()
    assert (analysis["version"], analysis["evaluator"]) == (2, "review")
    assert (analysis["reviewed_by"], analysis["based_on_version"]) == (owner.user_id, 1)
    assert (analysis["score"], analysis["flagged"], analysis["flag_reasons"]) == (100.0, False, [])
    greeting = next(r for r in analysis["results"] if r["check_id"] == "greeting")
    assert (greeting["answer"], greeting["passed"], greeting["ai_answer"]) == ("YES", True, "NO")
    assert greeting["override"]["answer"] == "YES"
    assert greeting["override"]["reviewer"] == owner.user_id
    assert greeting["override"]["comment"] == "The agent greets at 00:01; the recording clipped it."
    assert greeting["override"]["at"].endswith("Z")
    others = [r for r in analysis["results"] if r["check_id"] != "greeting"]
    assert all(r["override"] is None and r["ai_answer"] == r["answer"] for r in others)

    # The call's result follows the new version; it is no longer flagged, so it leaves the queue.
    call = await _call_with(api, reviewed, reviewed.no_greeting, 2)
    assert (call["score"], call["flagged"], call["flag_reasons"]) == (100.0, False, [])
    assert call["status"] == "COMPLETED"
    assert reviewed.no_greeting not in await _queued_ids(api, owner, reviewed.campaign_id)

    # Both versions are stored; the evaluator's version is untouched.
    analyses = stores.mongo[services.database]["analyses"]
    v1 = await analyses.find_one({"call_id": reviewed.no_greeting, "version": 1})
    v2 = await analyses.find_one({"call_id": reviewed.no_greeting, "version": 2})
    assert v1 is not None and v2 is not None
    assert v1["evaluator"] == "local" and v1["score"] == 85.0
    assert all(result.get("override") is None for result in v1["results"])
    stored = next(r for r in v2["results"] if r["check"]["id"] == "greeting")
    assert (stored["answer"], stored["passed"], stored["needs_review"]) == ("YES", True, False)
    assert stored["override"]["ai_answer"] == "NO"
    assert stored["override"]["reviewer"] == owner.user_id
    assert (v2["reviewed_by"], v2["based_on_version"], v2["source_event_id"][:7]) == (
        owner.user_id,
        1,
        "review:",
    )
    history = (await api.get(f"{url}/analyses", headers=owner.headers)).json()["analyses"]
    assert [(a["version"], a["evaluator"]) for a in history] == [(2, "review"), (1, "local")]

    # A second reviewer still looking at version 1 does not overwrite the first unseen.
    stale = await api.post(
        f"{url}/overrides",
        headers=owner.headers,
        json={"check_id": "greeting", "answer": "NO", "comment": "I disagree", "version": 1},
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "analysis_version_moved"
    assert "version 2" in stale.json()["error"]["message"]
    assert await stores.count("analyses", {"call_id": reviewed.no_greeting}) == 2


async def test_marking_reviewed_takes_the_call_out_until_a_new_analysis_arrives(
    api: httpx.AsyncClient,
    owner: Person,
    reviewed: Reviewed,
    stores: StoreInspector,
    services: RunningServices,
) -> None:
    url = f"/api/v1/calls/{reviewed.no_empathy}"

    response = await api.post(
        f"{url}/review", headers=owner.headers, json={"note": "coached the agent on empathy"}
    )

    assert response.status_code == 200, response.text
    review = response.json()["review"]
    assert (review["reviewed_by"], review["note"], review["analysis_version"]) == (
        owner.user_id,
        "coached the agent on empathy",
        1,
    )
    assert review["reviewed_at"].endswith("Z")
    assert response.json()["flagged"] is True
    document = await stores.mongo[services.database]["calls"].find_one({"_id": reviewed.no_empathy})
    assert document is not None
    assert document["review"]["reviewed_by"] == owner.user_id
    assert reviewed.no_empathy not in await _queued_ids(api, owner, reviewed.campaign_id)
    # Without a body, marking again just records the reviewer again.
    again = await api.post(f"{url}/review", headers=owner.headers)
    assert again.status_code == 200, again.text
    assert again.json()["review"]["note"] == ""

    # A re-run's new version is a new result to look at: the mark is cleared.
    rerun = await api.post(f"{url}/run-analysis", headers=owner.headers)
    assert rerun.status_code == 202, rerun.text
    await _call_with(api, reviewed, reviewed.no_empathy, 2)
    await wait_until_done(api, reviewed.key["X-API-Key"], reviewed.no_empathy)
    call = (await api.get(url, headers=owner.headers)).json()
    assert (call["status"], call["review"], call["flagged"]) == ("COMPLETED", None, True)
    assert reviewed.no_empathy in await _queued_ids(api, owner, reviewed.campaign_id)


async def test_bad_overrides_are_refused_with_what_to_fix(
    api: httpx.AsyncClient, owner: Person, reviewed: Reviewed, stores: StoreInspector
) -> None:
    url = f"/api/v1/calls/{reviewed.no_empathy}/overrides"
    before = await stores.count("analyses", {"call_id": reviewed.no_empathy})

    async def refused(body: dict[str, Any]) -> dict[str, Any]:
        response = await api.post(url, headers=owner.headers, json=body)
        assert response.status_code == 422, response.text
        error: dict[str, Any] = response.json()["error"]
        return error

    maybe = await refused({"check_id": "empathy", "answer": "MAYBE", "comment": "hm"})
    assert maybe["code"] == "invalid_request" and "answer" in maybe["message"]
    missing = await refused({"check_id": "empathy", "answer": "YES"})
    assert missing["code"] == "invalid_request" and "comment" in missing["message"]
    blank = await refused({"check_id": "empathy", "answer": "YES", "comment": "   "})
    assert blank["code"] == "invalid_comment"
    unknown = await refused({"check_id": "no-such-check", "answer": "YES", "comment": "x"})
    assert unknown["code"] == "unknown_check" and "no-such-check" in unknown["message"]
    not_applicable = await refused(
        {"check_id": "empathy", "answer": "NOT_APPLICABLE", "comment": "no complaint"}
    )
    assert not_applicable["code"] == "invalid_answer"
    assert "YES or NO" in not_applicable["message"]
    ahead = await api.post(
        url,
        headers=owner.headers,
        json={"check_id": "empathy", "answer": "YES", "comment": "x", "version": 99},
    )
    assert ahead.status_code == 404, ahead.text
    assert await stores.count("analyses", {"call_id": reviewed.no_empathy}) == before


async def test_other_organisations_and_roles_without_review_rights_are_refused(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    owner: Person,
    other: OtherOrganisation,
    reviewed: Reviewed,
    stores: StoreInspector,
) -> None:
    url = f"/api/v1/calls/{reviewed.no_empathy}"
    body = {"check_id": "empathy", "answer": "YES", "comment": "fine"}
    before = await stores.count("analyses", {"call_id": reviewed.no_empathy})

    # Another organisation's owner: the call does not exist for them, nor in their queue.
    foreign = await api.post(f"{url}/overrides", headers=other.owner.headers, json=body)
    assert foreign.status_code == 404, foreign.text
    assert foreign.json()["error"]["code"] == "not_found"
    assert (await api.post(f"{url}/review", headers=other.owner.headers)).status_code == 404
    assert await _queue(api, other.owner) == {"calls": [], "next_cursor": None}

    # An Agent, and an API key, may not review at all.
    agent = await new_person(api, directory, reviewed.org_id, "AGENT")
    for headers in (agent.headers, reviewed.key):
        assert (await api.get(QUEUE, headers=headers)).status_code == 403
        denied = await api.post(f"{url}/overrides", headers=headers, json=body)
        assert denied.status_code == 403, denied.text
        assert denied.json()["error"]["code"] == "forbidden"
        assert (await api.post(f"{url}/review", headers=headers)).status_code == 403

    # A Manager reviews the campaigns assigned to them, and no others.
    assigned = await new_person(
        api, directory, reviewed.org_id, "MANAGER", campaign_ids=[reviewed.campaign_id]
    )
    unassigned = await new_person(api, directory, reviewed.org_id, "MANAGER")
    assert reviewed.no_empathy in await _queued_ids(api, assigned, reviewed.campaign_id)
    assert await _queued_ids(api, unassigned, reviewed.campaign_id) == set()
    hidden = await api.post(f"{url}/overrides", headers=unassigned.headers, json=body)
    assert hidden.status_code == 404, hidden.text
    assert await stores.count("analyses", {"call_id": reviewed.no_empathy}) == before
