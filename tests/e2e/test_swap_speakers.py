"""Swapping agent and customer on a call over the REST API.

The gateway and ingest side: who may swap, which calls can be swapped (a transcript, out of
the pipeline), and that a swap queues the call again with a `transcription.requested` event
that asks for the swap. The transcription side (a new version with the roles exchanged, and
analysis run again on it) is checked by the last test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from callscope.v1 import events_pb2
from callscope_common.events import topic_of
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.api_keys import generate_api_key
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.e2e.conftest import wait_until_done
from tests.support.audio import render_noise, render_stereo
from tests.support.infra import Infra
from tests.support.people import OtherOrganisation, Person, new_person
from tests.support.polling import wait_for
from tests.support.scripts import COMPLIANT
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


@dataclass(frozen=True)
class SwapCampaign:
    """A campaign of this module's own, its key's headers and one completed call."""

    id: str
    headers: dict[str, str]
    completed: dict[str, Any]


async def _upload(api: httpx.AsyncClient, headers: dict[str, str], path: Path) -> str:
    with path.open("rb") as handle:
        response = await api.post(
            "/api/v1/calls/upload", headers=headers, files={"file": (path.name, handle)}
        )
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


async def _campaign_with_key(
    directory: MongoDirectory, org_id: str, name: str, *, auto_processing: bool = True
) -> tuple[str, dict[str, str]]:
    campaign_id = await directory.create_campaign(org_id, name, 70.0, DEFAULT_CHECKS)
    if not auto_processing:
        await directory.set_auto_processing(org_id, campaign_id, enabled=False)
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    return campaign_id, {"X-API-Key": key.raw}


@pytest.fixture(scope="module")
async def swap_campaign(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    tmp_path_factory: pytest.TempPathFactory,
) -> SwapCampaign:
    campaign_id, headers = await _campaign_with_key(
        directory, services.credentials["org_id"], "Swaps"
    )
    folder = tmp_path_factory.mktemp("swaps")
    audio = render_stereo(COMPLIANT.dialogue, folder / "swap_compliant.wav").path
    call_id = await _upload(api, headers, audio)
    done = await wait_until_done(api, headers["X-API-Key"], call_id)
    assert done["status"] == "COMPLETED", done
    return SwapCampaign(campaign_id, headers, done)


async def _stored_call(
    stores: StoreInspector, services: RunningServices, call_id: str
) -> dict[str, Any]:
    document = await stores.mongo[services.database]["calls"].find_one({"_id": call_id})
    assert document is not None
    return document


async def _swap_request(infra: Infra, call_id: str) -> events_pb2.TranscriptionRequested:
    """The `transcription.requested` event that asked to swap the call's speakers."""
    reader = AIOKafkaConsumer(
        topic_of(events_pb2.TranscriptionRequested),
        bootstrap_servers=infra.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    try:

        async def find() -> events_pb2.TranscriptionRequested | None:
            batch = await reader.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    if record.key != call_id.encode() or record.value is None:
                        continue
                    event = events_pb2.TranscriptionRequested.FromString(record.value)
                    if event.swap_speakers:
                        return event
            return None

        return await wait_for(find, timeout_s=30, describe=f"swap request of call {call_id}")
    finally:
        await reader.stop()


async def test_the_transcript_shows_how_its_speaker_roles_were_decided(
    api: httpx.AsyncClient, swap_campaign: SwapCampaign
) -> None:
    call_id = swap_campaign.completed["id"]
    response = await api.get(f"/api/v1/calls/{call_id}/transcript", headers=swap_campaign.headers)
    assert response.status_code == 200, response.text
    assert {"speaker_roles", "settings", "campaign_id"} <= set(response.json())
    assert isinstance(response.json()["settings"], dict)


async def test_bad_requests_other_organisations_and_roles_without_the_right_change_nothing(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    directory: MongoDirectory,
    swap_campaign: SwapCampaign,
    owner: Person,
    other: OtherOrganisation,
) -> None:
    call_id = swap_campaign.completed["id"]
    url = f"/api/v1/calls/{call_id}/swap-speakers"
    before = await _stored_call(stores, services, call_id)

    negative = await api.post(url, headers=owner.headers, json={"transcript_version": -1})
    assert negative.status_code == 422, negative.text
    assert negative.json()["error"]["code"] == "invalid_request"
    assert "body.transcript_version" in negative.json()["error"]["message"]
    unknown_field = await api.post(url, headers=owner.headers, json={"version": 1})
    assert unknown_field.status_code == 422 and "body.version" in unknown_field.text
    missing = await api.post(url, headers=owner.headers, json={"transcript_version": 99})
    assert missing.status_code == 422, missing.text
    assert missing.json()["error"]["code"] == "unknown_transcript_version"
    assert "no transcript version 99" in missing.json()["error"]["message"]

    for foreign in (other.owner.headers, {"X-API-Key": other.api_key}):
        hidden = await api.post(url, headers=foreign)
        assert hidden.status_code == 404, hidden.text
        assert hidden.json()["error"]["code"] == "not_found"
    # The demo campaign's key belongs to the same organisation, but not to this campaign.
    wrong_key = await api.post(url, headers={"X-API-Key": services.api_key})
    assert wrong_key.status_code == 404
    agent = await new_person(api, directory, owner.org_id, "AGENT")
    forbidden = await api.post(url, headers=agent.headers)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"

    assert await _stored_call(stores, services, call_id) == before


async def test_a_call_never_transcribed_or_still_in_progress_is_refused_with_409(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    directory: MongoDirectory,
    owner: Person,
    tmp_path: Path,
) -> None:
    _, headers = await _campaign_with_key(
        directory, owner.org_id, "Held swaps", auto_processing=False
    )
    call_id = await _upload(api, headers, render_noise(tmp_path / "held.wav", 11.0, seed=5))
    url = f"/api/v1/calls/{call_id}"

    held = await api.post(f"{url}/swap-speakers", headers=headers)

    assert held.status_code == 409, held.text
    assert held.json()["error"]["code"] == "no_transcript"
    assert "not been transcribed yet" in held.json()["error"]["message"]

    processed = await api.post(f"{url}/process", headers=headers)
    assert processed.status_code == 202, processed.text
    busy = await api.post(f"{url}/swap-speakers", headers=owner.headers)
    assert busy.status_code == 409, busy.text
    assert busy.json()["error"]["code"] == "call_in_progress"
    assert "once it has completed" in busy.json()["error"]["message"]
    assert (await _stored_call(stores, services, call_id)).get("reruns", 0) == 0


async def test_swapping_a_completed_call_queues_it_again_with_a_swap_request(
    api: httpx.AsyncClient,
    infra: Infra,
    services: RunningServices,
    stores: StoreInspector,
    swap_campaign: SwapCampaign,
    owner: Person,
) -> None:
    call = swap_campaign.completed
    url = f"/api/v1/calls/{call['id']}"

    swapped = await api.post(
        f"{url}/swap-speakers", headers=owner.headers, json={"transcript_version": 1}
    )

    assert swapped.status_code == 202, swapped.text
    body = swapped.json()
    assert (body["id"], body["status"], body["queued"]) == (call["id"], "PENDING", True)
    assert body["score"] == call["score"]  # the last result stays until a new one replaces it
    again = await api.post(f"{url}/swap-speakers", headers=swap_campaign.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "call_in_progress"
    stored = await _stored_call(stores, services, call["id"])
    assert stored["reruns"] == 1

    request = await _swap_request(infra, call["id"])
    assert (request.swap_of_version, request.requested_by) == (1, owner.user_id)
    assert (request.header.org_id, request.header.campaign_id) == (
        owner.org_id,
        swap_campaign.id,
    )
    assert request.audio.key == stored["audio"]["key"]

    # Let the run finish so that the call is left settled; what transcription makes of the
    # swap is the next test's business.
    await wait_until_done(api, swap_campaign.headers["X-API-Key"], call["id"])


async def test_the_swapped_version_has_agent_and_customer_exchanged(
    api: httpx.AsyncClient, directory: MongoDirectory, owner: Person, tmp_path: Path
) -> None:
    # A campaign of its own: the same recording in the fixture's campaign is a duplicate.
    _, headers = await _campaign_with_key(directory, owner.org_id, "Swapped roles")
    audio = render_stereo(COMPLIANT.dialogue, tmp_path / "swap_roles.wav").path
    call_id = await _upload(api, headers, audio)
    assert (await wait_until_done(api, headers["X-API-Key"], call_id))["status"] == "COMPLETED"
    url = f"/api/v1/calls/{call_id}"

    swapped = await api.post(f"{url}/swap-speakers", headers=owner.headers)
    assert swapped.status_code == 202, swapped.text
    done = await wait_until_done(api, headers["X-API-Key"], call_id)

    assert done["status"] == "COMPLETED", done
    assert done["transcript_version"] == 2
    first = (await api.get(f"{url}/transcript", headers=headers, params={"version": 1})).json()
    latest = (await api.get(f"{url}/transcript", headers=headers)).json()
    assert latest["version"] == 2
    assert latest["speaker_roles"]["source"] == "manual"
    assert latest["speaker_roles"]["swapped_by"] == owner.user_id
    assert latest["speaker_roles"]["swapped_from_version"] == 1
    exchanged = {"AGENT": "CUSTOMER", "CUSTOMER": "AGENT"}
    assert [(s["text"], s["speaker"]) for s in latest["segments"]] == [
        (s["text"], exchanged.get(s["speaker"], s["speaker"])) for s in first["segments"]
    ]
    analysis = (await api.get(f"{url}/analysis", headers=headers)).json()
    assert analysis["transcript_version"] == 2
