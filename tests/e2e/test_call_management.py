"""Managing calls over the REST API: list with filters and pages, edit, re-run, delete."""

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
from tests.support.audio import render_noise, render_stereo
from tests.support.people import demo_owner
from tests.support.polling import wait_for
from tests.support.scripts import COMPLIANT, NO_GREETING
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


@dataclass(frozen=True)
class Campaign:
    """A campaign of this module's own, its key and its two finished calls."""

    id: str
    headers: dict[str, str]
    compliant: dict[str, Any]
    no_greeting: dict[str, Any]


async def _upload(
    api: httpx.AsyncClient, headers: dict[str, str], path: Path, fields: dict[str, str]
) -> str:
    with path.open("rb") as handle:
        response = await api.post(
            "/api/v1/calls/upload",
            headers=headers,
            data=fields,
            files={"file": (path.name, handle)},
        )
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


@pytest.fixture(scope="module")
async def campaign(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    tmp_path_factory: pytest.TempPathFactory,
) -> Campaign:
    directory = MongoDirectory(stores.mongo[services.database])
    org_id = services.credentials["org_id"]
    campaign_id = await directory.create_campaign(org_id, "Managed", 95.0, DEFAULT_CHECKS)
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    headers = {"X-API-Key": key.raw}
    folder = tmp_path_factory.mktemp("managed")
    first = render_stereo(COMPLIANT.dialogue, folder / "managed_compliant.wav").path
    second = render_stereo(NO_GREETING.dialogue, folder / "managed_no_greeting.wav").path
    ids = [
        await _upload(api, headers, first, {"call_type": "OUTBOUND", "call_date": "2026-01-15"}),
        await _upload(api, headers, second, {"disposition": "No Answer"}),
    ]
    done = await asyncio.gather(*(wait_until_done(api, key.raw, i) for i in ids))
    assert [call["status"] for call in done] == ["COMPLETED", "COMPLETED"]
    return Campaign(campaign_id, headers, done[0], done[1])


async def _list(api: httpx.AsyncClient, campaign: Campaign, **params: Any) -> dict[str, Any]:
    response = await api.get("/api/v1/calls", headers=campaign.headers, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_pages_walk_the_campaign_newest_first(
    api: httpx.AsyncClient, campaign: Campaign
) -> None:
    first = await _list(api, campaign, limit=1)
    assert [c["id"] for c in first["calls"]] == [campaign.no_greeting["id"]]
    assert first["next_cursor"]
    second = await _list(api, campaign, limit=1, cursor=first["next_cursor"])
    assert [c["id"] for c in second["calls"]] == [campaign.compliant["id"]]
    assert second["next_cursor"] is None
    everything = await _list(api, campaign)
    assert {c["campaign_id"] for c in everything["calls"]} == {campaign.id}
    assert len(everything["calls"]) == 2


async def test_filters_select_by_status_source_flag_and_date(
    api: httpx.AsyncClient, campaign: Campaign
) -> None:
    both = {campaign.compliant["id"], campaign.no_greeting["id"]}

    async def ids(**params: Any) -> set[str]:
        return {call["id"] for call in (await _list(api, campaign, **params))["calls"]}

    assert await ids(status="COMPLETED") == both
    assert await ids(status="pending,failed") == set()
    assert await ids(source="API") == both
    assert await ids(source="UI") == set()
    flagged = {c["id"] for c in (campaign.compliant, campaign.no_greeting) if c["flagged"]}
    assert flagged == {campaign.no_greeting["id"]}  # the missing greeting fails a check
    assert await ids(flagged="true") == flagged
    assert await ids(flagged="false") == both - flagged
    created = campaign.no_greeting["created_at"][:10]
    assert await ids(**{"from": created, "to": created}) == both
    assert await ids(**{"from": "2099-01-01"}) == set()


async def test_bad_filters_and_other_campaigns_are_refused_with_words(
    api: httpx.AsyncClient, campaign: Campaign, services: RunningServices
) -> None:
    bad_status = await api.get("/api/v1/calls", headers=campaign.headers, params={"status": "DONE"})
    assert bad_status.status_code == 400
    assert "'DONE' is not one of PENDING" in bad_status.json()["error"]["message"]
    bad_date = await api.get("/api/v1/calls", headers=campaign.headers, params={"from": "15/01"})
    assert bad_date.status_code == 400 and "YYYY-MM-DD" in bad_date.text
    bad_cursor = await api.get("/api/v1/calls", headers=campaign.headers, params={"cursor": "x"})
    assert bad_cursor.status_code == 400 and "page token" in bad_cursor.text
    other = await api.get(
        "/api/v1/calls",
        headers=campaign.headers,
        params={"campaign_id": services.credentials["campaign_id"]},
    )
    assert other.status_code == 403 and other.json()["error"]["code"] == "wrong_campaign"
    demo_key = {"X-API-Key": services.api_key}
    listed = await api.get("/api/v1/calls", headers=demo_key, params={"limit": 200})
    assert campaign.compliant["id"] not in {c["id"] for c in listed.json()["calls"]}


async def test_metadata_edits_are_validated_and_stored(
    api: httpx.AsyncClient, campaign: Campaign, services: RunningServices, stores: StoreInspector
) -> None:
    call_id = campaign.compliant["id"]
    edited = await api.patch(
        f"/api/v1/calls/{call_id}",
        headers=campaign.headers,
        json={"call_type": "inbound", "disposition": "Callback", "call_date": None},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["metadata"] == {"call_type": "INBOUND", "disposition": "Callback"}
    document = await stores.mongo[services.database]["calls"].find_one({"_id": call_id})
    assert document is not None
    assert document["metadata"]["call_type"] == "INBOUND"
    assert document["metadata"]["call_date"] == ""

    bad_date = await api.patch(
        f"/api/v1/calls/{call_id}", headers=campaign.headers, json={"call_date": "15/01/2026"}
    )
    assert bad_date.status_code == 422
    assert bad_date.json()["error"]["code"] == "invalid_metadata"
    unknown = await api.patch(
        f"/api/v1/calls/{call_id}", headers=campaign.headers, json={"colour": "red"}
    )
    assert unknown.status_code == 422 and "colour" in unknown.text
    nothing = await api.patch(f"/api/v1/calls/{call_id}", headers=campaign.headers, json={})
    assert nothing.status_code == 400
    foreign = await api.patch(
        f"/api/v1/calls/{call_id}",
        headers={"X-API-Key": services.api_key},
        json={"disposition": "x"},
    )
    assert foreign.status_code == 404


async def test_reruns_add_versions_and_keep_the_old_ones(
    api: httpx.AsyncClient, campaign: Campaign, services: RunningServices, stores: StoreInspector
) -> None:
    call_id = campaign.compliant["id"]
    url = f"/api/v1/calls/{call_id}"
    rerun = await api.post(f"{url}/rerun-transcription", headers=campaign.headers)
    assert rerun.status_code == 202, rerun.text
    assert (rerun.json()["status"], rerun.json()["queued"]) == ("PENDING", True)
    busy = await api.post(f"{url}/rerun-transcription", headers=campaign.headers)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "not_rerunnable"
    done = await wait_until_done(api, campaign.headers["X-API-Key"], call_id)
    assert done["status"] == "COMPLETED"
    assert (done["transcript_version"], done["analysis_version"]) == (2, 2)
    for version in (1, 2):
        transcript = await api.get(
            f"{url}/transcript", headers=campaign.headers, params={"version": version}
        )
        assert transcript.status_code == 200 and transcript.json()["version"] == version

    analysed = await api.post(
        f"{url}/run-analysis", headers=campaign.headers, json={"transcript_version": 1}
    )
    assert analysed.status_code == 202, analysed.text
    done = await wait_until_done(api, campaign.headers["X-API-Key"], call_id)
    assert (done["transcript_version"], done["analysis_version"]) == (1, 3)
    analysis = (await api.get(f"{url}/analysis", headers=campaign.headers)).json()
    assert (analysis["version"], analysis["transcript_version"]) == (3, 1)
    assert await stores.count("transcripts", {"call_id": call_id}) == 2
    assert await stores.count("analyses", {"call_id": call_id}) == 3


async def test_delete_removes_the_call_its_audio_and_every_version(
    api: httpx.AsyncClient, campaign: Campaign, services: RunningServices, stores: StoreInspector
) -> None:
    call_id = campaign.no_greeting["id"]
    document = await stores.mongo[services.database]["calls"].find_one({"_id": call_id})
    assert document is not None
    audio_key = document["audio"]["key"]
    assert await stores.count("transcripts", {"call_id": call_id}) == 1
    foreign = await api.delete(f"/api/v1/calls/{call_id}", headers={"X-API-Key": services.api_key})
    assert foreign.status_code == 404

    deleted = await api.delete(f"/api/v1/calls/{call_id}", headers=campaign.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await api.get(f"/api/v1/calls/{call_id}", headers=campaign.headers)).status_code == 404
    assert await stores.count("calls", {"_id": call_id}) == 0
    assert audio_key not in await stores.object_keys()

    async def versions_gone() -> bool | None:
        left = await stores.count("transcripts", {"call_id": call_id}) + await stores.count(
            "analyses", {"call_id": call_id}
        )
        return True if left == 0 else None

    await wait_for(versions_gone, timeout_s=60, interval_s=0.5, describe="versions deleted")
    again = await api.delete(f"/api/v1/calls/{call_id}", headers=campaign.headers)
    assert again.status_code == 404


async def test_uploads_link_agents_from_the_directory_and_people_relink_them(
    api: httpx.AsyncClient, campaign: Campaign, services: RunningServices, tmp_path: Path
) -> None:
    owner = await demo_owner(api, services)
    created = await api.post(
        "/api/v1/agents",
        headers=owner.headers,
        json={"name": "Mia Wong", "code": "MW042", "campaign_ids": [campaign.id]},
    )
    assert created.status_code == 201, created.text
    mia = created.json()["id"]
    other = await api.post(
        "/api/v1/agents",
        headers=owner.headers,
        json={"name": "Not Here", "code": "NH001", "campaign_ids": []},
    )
    assert other.status_code == 201, other.text

    audio = render_noise(tmp_path / "recording-MW042-morning.wav", 11.0, seed=42)
    by_name = await _upload(api, campaign.headers, audio, {})
    call = (await api.get(f"/api/v1/calls/{by_name}", headers=campaign.headers)).json()
    assert call["agent"] == {
        "id": mia,
        "code": "MW042",
        "name": "Mia Wong",
        "linked_by": "FILE_NAME",
    }
    listed = await _list(api, campaign, agent_id=mia)
    assert [c["id"] for c in listed["calls"]] == [by_name]

    unknown = render_noise(tmp_path / "call.wav", 11.0, seed=43)
    unlinked = await _upload(api, campaign.headers, unknown, {"agent_code": "ZZ999"})
    assert (await api.get(f"/api/v1/calls/{unlinked}", headers=campaign.headers)).json()[
        "agent"
    ] is None
    linked = await api.put(
        f"/api/v1/calls/{unlinked}/agent", headers=owner.headers, json={"agent_id": mia}
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["agent"]["linked_by"] == "MANUAL"
    refused = await api.put(
        f"/api/v1/calls/{unlinked}/agent",
        headers=campaign.headers,
        json={"agent_id": other.json()["id"]},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "agent_not_in_campaign"
    removed = await api.delete(f"/api/v1/calls/{unlinked}/agent", headers=campaign.headers)
    assert removed.status_code == 200 and removed.json()["agent"] is None
