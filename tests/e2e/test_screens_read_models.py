"""The web UI's read models through the real stack: call audio with byte ranges, the
dashboard's figures and an agent's score trend."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
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
from tests.support.people import OtherOrganisation, Person
from tests.support.scripts import COMPLIANT, NO_GREETING
from tests.support.services import RunningServices


@dataclass(frozen=True)
class Screens:
    """An isolated campaign: an agent with two finished calls, one unlinked call and a duplicate."""

    campaign_id: str
    headers: dict[str, str]
    agent: dict[str, str]
    audio: dict[str, bytes]
    linked: list[dict[str, Any]]
    unlinked: dict[str, Any]
    duplicate_id: str
    duplicate_of: str


async def _upload(
    api: httpx.AsyncClient, headers: dict[str, str], path: Path, fields: dict[str, str]
) -> httpx.Response:
    with path.open("rb") as handle:
        return await api.post(
            "/api/v1/calls/upload",
            headers=headers,
            data=fields,
            files={"file": (path.name, handle, "audio/wav")},
        )


@pytest.fixture(scope="module")
async def screens(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Screens:
    org_id = services.credentials["org_id"]
    suffix = uuid.uuid4().hex[:6].upper()
    campaign_id = await directory.create_campaign(org_id, f"Screens {suffix}", 95.0, DEFAULT_CHECKS)
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    headers = {"X-API-Key": key.raw}
    agent = await directory.create_agent(org_id, "Sam Screens", f"SC{suffix}", (campaign_id,))
    folder = tmp_path_factory.mktemp("screens")
    # Non-ASCII and punctuation must come back safely in Content-Disposition.
    compliant = render_stereo(COMPLIANT.dialogue, folder / "Zoë's call.wav").path
    no_greeting = render_stereo(NO_GREETING.dialogue, folder / "two.wav").path
    # Other pauses: other bytes, so not a duplicate of the first.
    plain = render_stereo(COMPLIANT.dialogue, folder / "three.wav", pause_s=0.7).path
    uploads = [
        (compliant, {"agent_code": agent.code}),
        (no_greeting, {"agent_code": agent.code}),
        (plain, {}),
    ]
    ids = []
    for path, fields in uploads:
        response = await _upload(api, headers, path, fields)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    done = await asyncio.gather(*(wait_until_done(api, key.raw, call_id) for call_id in ids))
    assert [call["status"] for call in done] == ["COMPLETED"] * 3, done
    repeat = await _upload(api, headers, no_greeting, {})
    assert repeat.status_code == 409, repeat.text
    return Screens(
        campaign_id=campaign_id,
        headers=headers,
        agent={"id": agent.id, "code": agent.code, "name": agent.name},
        audio={ids[0]: compliant.read_bytes(), ids[1]: no_greeting.read_bytes()},
        linked=list(done[:2]),
        unlinked=done[2],
        duplicate_id=repeat.json()["id"],
        duplicate_of=repeat.json()["error"]["original_call_id"],
    )


def _audio_url(call_id: str) -> str:
    return f"/api/v1/calls/{call_id}/audio"


async def test_the_whole_recording_plays_with_its_type_name_and_range_support(
    api: httpx.AsyncClient, owner: Person, screens: Screens
) -> None:
    call_id, original = next(iter(screens.audio.items()))
    response = await api.get(_audio_url(call_id), headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.content == original
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["content-length"] == str(len(original))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "private"
    assert "content-range" not in response.headers
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("inline; ")
    assert "filename*=UTF-8''Zo%C3%AB%27s%20call.wav" in disposition
    assert 'filename="Zoe_s call.wav"' in disposition
    # The campaign's API key reads it too.
    with_key = await api.get(_audio_url(call_id), headers=screens.headers)
    assert with_key.status_code == 200 and with_key.content == original


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=1000-4999", 1000, 4999), ("bytes=-50", None, None)],
)
async def test_a_byte_range_is_answered_206_with_exactly_those_bytes(
    api: httpx.AsyncClient,
    owner: Person,
    screens: Screens,
    header: str,
    first: int | None,
    last: int | None,
) -> None:
    call_id, original = list(screens.audio.items())[1]
    size = len(original)
    if first is None or last is None:  # the suffix: the last 50 bytes
        first, last = size - 50, size - 1
    response = await api.get(_audio_url(call_id), headers={**owner.headers, "Range": header})
    assert response.status_code == 206, response.text
    assert response.content == original[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "audio/wav"


async def test_an_open_range_plays_from_a_point_to_the_end(
    api: httpx.AsyncClient, owner: Person, screens: Screens
) -> None:
    call_id, original = next(iter(screens.audio.items()))
    middle = len(original) // 2
    response = await api.get(
        _audio_url(call_id), headers={**owner.headers, "Range": f"bytes={middle}-"}
    )
    assert response.status_code == 206
    assert response.content == original[middle:]


async def test_a_range_past_the_end_is_416_with_the_size(
    api: httpx.AsyncClient, owner: Person, screens: Screens
) -> None:
    call_id, original = next(iter(screens.audio.items()))
    size = len(original)
    response = await api.get(
        _audio_url(call_id), headers={**owner.headers, "Range": f"bytes={size}-{size + 100}"}
    )
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    body = response.json()["error"]
    assert body["code"] == "range_not_satisfiable"
    assert str(size) in body["message"]


async def test_another_organisation_cannot_play_the_recording(
    api: httpx.AsyncClient, other: OtherOrganisation, screens: Screens
) -> None:
    call_id = next(iter(screens.audio))
    for headers in (other.owner.headers, {"X-API-Key": other.api_key}):
        response = await api.get(_audio_url(call_id), headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "content-range" not in response.headers


async def test_a_duplicate_has_no_recording_of_its_own_and_says_which_to_play(
    api: httpx.AsyncClient, owner: Person, screens: Screens
) -> None:
    response = await api.get(_audio_url(screens.duplicate_id), headers=owner.headers)
    assert response.status_code == 404
    assert screens.duplicate_of in response.json()["error"]["message"]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


async def test_the_dashboard_counts_the_campaigns_calls(
    api: httpx.AsyncClient, owner: Person, screens: Screens
) -> None:
    response = await api.get(
        "/api/v1/dashboard", headers=owner.headers, params={"campaign_id": screens.campaign_id}
    )
    assert response.status_code == 200, response.text
    board = response.json()
    finished = [*screens.linked, screens.unlinked]
    scores = [call["score"] for call in finished]
    assert board["filters"] == {"campaign_id": screens.campaign_id, "from": None, "to": None}
    assert board["total_calls"] == 4
    assert board["calls_by_status"] == {
        "PENDING": 0,
        "TRANSCRIBING": 0,
        "ANALYZING": 0,
        "COMPLETED": 3,
        "FAILED": 0,
        "DUPLICATE": 1,
    }
    assert board["calls_by_source"] == {"UI": 0, "API": 4, "BULK": 0, "SFTP": 0}
    assert board["scored_calls"] == 3
    assert board["average_score"] == pytest.approx(_mean(scores), abs=0.01)
    assert board["flagged"] == sum(1 for call in finished if call["flagged"])
    assert board["flagged_unreviewed"] == board["flagged"]
    distribution = board["score_distribution"]
    assert [(b["lower"], b["upper"]) for b in distribution] == [
        (lower, lower + 10) for lower in range(0, 100, 10)
    ]
    for bucket in distribution:
        expected = sum(
            1
            for score in scores
            if bucket["lower"] <= score < bucket["upper"] or (bucket["upper"] == 100 == score)
        )
        assert bucket["calls"] == expected, bucket
    [agent] = board["agents"]
    linked_scores = [call["score"] for call in screens.linked]
    assert agent == {
        "agent_id": screens.agent["id"],
        "code": screens.agent["code"],
        "name": screens.agent["name"],
        "calls": 2,
        "scored_calls": 2,
        "average_score": pytest.approx(_mean(linked_scores), abs=0.01),
        "flagged": sum(1 for call in screens.linked if call["flagged"]),
        "flagged_unreviewed": sum(1 for call in screens.linked if call["flagged"]),
    }
    assert board["scanned_calls"] == 4 and board["truncated"] is False


async def test_the_dashboard_is_scoped_and_filtered_by_time(
    api: httpx.AsyncClient, owner: Person, other: OtherOrganisation, screens: Screens
) -> None:
    with_key = await api.get("/api/v1/dashboard", headers=screens.headers)
    assert with_key.status_code == 200, with_key.text
    assert with_key.json()["total_calls"] == 4
    assert with_key.json()["filters"]["campaign_id"] == screens.campaign_id
    elsewhere = await api.get(
        "/api/v1/dashboard", headers=screens.headers, params={"campaign_id": "another"}
    )
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["code"] == "wrong_campaign"
    foreign = await api.get(
        "/api/v1/dashboard",
        headers=other.owner.headers,
        params={"campaign_id": screens.campaign_id},
    )
    assert foreign.status_code == 200
    assert foreign.json()["total_calls"] == 0 and foreign.json()["agents"] == []
    today = dt.datetime.now(dt.UTC).date()
    future = await api.get(
        "/api/v1/dashboard",
        headers=owner.headers,
        params={"campaign_id": screens.campaign_id, "from": str(today + dt.timedelta(days=2))},
    )
    assert future.json()["total_calls"] == 0
    assert future.json()["average_score"] is None
    current = await api.get(
        "/api/v1/dashboard",
        headers=owner.headers,
        params={"campaign_id": screens.campaign_id, "from": str(today), "to": str(today)},
    )
    assert current.json()["total_calls"] == 4
    assert current.json()["filters"]["from"] == f"{today}T00:00:00Z"
    bad = await api.get("/api/v1/dashboard", headers=owner.headers, params={"from": "soon"})
    assert bad.status_code == 400
    assert "from" in bad.json()["error"]["message"]


async def test_an_agents_trend_has_a_point_per_day_or_week(
    api: httpx.AsyncClient, owner: Person, screens: Screens
) -> None:
    path = f"/api/v1/agents/{screens.agent['id']}/trend"
    daily = await api.get(path, headers=owner.headers)
    assert daily.status_code == 200, daily.text
    trend = daily.json()
    assert trend["agent"] == screens.agent
    assert trend["bucket"] == "day"
    assert len(trend["points"]) == 30
    today = dt.datetime.now(dt.UTC).date()
    last = trend["points"][-1]
    assert last["start"] == f"{today}T00:00:00Z"
    assert last["calls"] == 2 and last["scored_calls"] == 2
    linked_scores = [call["score"] for call in screens.linked]
    assert last["average_score"] == pytest.approx(_mean(linked_scores), abs=0.01)
    assert sum(point["calls"] for point in trend["points"]) == 2
    assert all(point["average_score"] is None for point in trend["points"][:-1])
    assert trend["totals"]["calls"] == 2
    assert trend["to"] == f"{today + dt.timedelta(days=1)}T00:00:00Z"

    weekly = (await api.get(path, headers=owner.headers, params={"bucket": "week"})).json()
    assert len(weekly["points"]) == 12
    assert weekly["points"][-1]["calls"] == 2
    monday = today - dt.timedelta(days=today.weekday())
    assert weekly["points"][-1]["start"] == f"{monday}T00:00:00Z"

    latest = await api.get(
        "/api/v1/calls", headers=owner.headers, params={"agent_id": screens.agent["id"]}
    )
    assert {call["id"] for call in latest.json()["calls"]} == {c["id"] for c in screens.linked}

    too_long = await api.get(
        path, headers=owner.headers, params={"from": "2000-01-01", "bucket": "day"}
    )
    assert too_long.status_code == 400
    assert "at most 400" in too_long.json()["error"]["message"]
    backwards = await api.get(
        path, headers=owner.headers, params={"from": "2026-02-01", "to": "2026-01-01"}
    )
    assert backwards.status_code == 400
    bad_bucket = await api.get(path, headers=owner.headers, params={"bucket": "month"})
    assert bad_bucket.status_code == 422


async def test_another_organisations_agent_has_no_trend(
    api: httpx.AsyncClient, other: OtherOrganisation, screens: Screens
) -> None:
    response = await api.get(
        f"/api/v1/agents/{screens.agent['id']}/trend", headers=other.owner.headers
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_deleted_calls_recording_is_gone(
    api: httpx.AsyncClient, owner: Person, screens: Screens
) -> None:
    call_id = screens.unlinked["id"]
    assert (await api.get(_audio_url(call_id), headers=owner.headers)).status_code == 200
    deleted = await api.delete(f"/api/v1/calls/{call_id}", headers=screens.headers)
    assert deleted.status_code == 204, deleted.text
    gone = await api.get(_audio_url(call_id), headers=owner.headers)
    assert gone.status_code == 404
    assert call_id in gone.json()["error"]["message"]
