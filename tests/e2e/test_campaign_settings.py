"""Campaign settings over the API: list, read, create with the default checks, change, the
next upload following a changed auto-processing switch, and the transcription settings as the
Directory's gRPC answer gives them to the other services."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from callscope.v1 import common_pb2, directory_pb2, directory_pb2_grpc
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.support.audio import render_stereo
from tests.support.people import (
    OtherOrganisation,
    Person,
    new_person,
    person_seeing,
)
from tests.support.scripts import COMPLIANT
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

TRANSCRIPTION_FIELDS = {"transcription_provider", "agent_channel", "opening_party", "company_name"}
# Who evaluates the calls (tests/e2e/test_checks_api.py covers them).
EVALUATION_FIELDS = {"evaluator", "claude_model"}
DEFAULTS = {
    "transcription_provider": "local",
    "agent_channel": "left",
    "opening_party": "agent",
    "company_name": "",
}


async def _create(api: httpx.AsyncClient, person: Person, **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/campaigns", headers=person.headers, json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_new_campaign_gets_the_default_checks_and_is_stored(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    created = await _create(api, owner, name="  Retention  ")

    assert created["name"] == "Retention"
    assert created["org_id"] == owner.org_id
    assert created["flag_threshold"] == 70.0 and created["auto_processing"] is True
    assert [check["id"] for check in created["checks"]] == [c.id for c in DEFAULT_CHECKS]
    assert created["checks"][1]["critical"] is True
    database = stores.mongo[services.database]
    stored = await database["campaigns"].find_one({"_id": created["id"]})
    assert stored is not None
    assert (stored["org_id"], stored["name"], stored["flag_threshold"]) == (
        owner.org_id,
        "Retention",
        70.0,
    )
    assert await database["checks"].count_documents({"campaign_id": created["id"]}) == len(
        DEFAULT_CHECKS
    )

    custom = await _create(api, owner, name="Sales", flag_threshold=55.5)
    assert custom["flag_threshold"] == 55.5
    read = await api.get(f"/api/v1/campaigns/{custom['id']}", headers=owner.headers)
    assert read.status_code == 200 and read.json() == custom
    listed = (await api.get("/api/v1/campaigns", headers=owner.headers)).json()["campaigns"]
    ids = [campaign["id"] for campaign in listed]
    assert {services.credentials["campaign_id"], created["id"], custom["id"]} <= set(ids)
    assert all(
        set(campaign)
        == {"id", "name", "flag_threshold", "auto_processing", "created_at"}
        | TRANSCRIPTION_FIELDS
        | EVALUATION_FIELDS
        for campaign in listed
    )


async def test_settings_change_and_are_stored(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    created = await _create(api, owner, name="Collections")
    path = f"/api/v1/campaigns/{created['id']}"

    response = await api.patch(
        path, headers=owner.headers, json={"flag_threshold": 85, "name": "Collections EU"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["flag_threshold"], body["name"], body["auto_processing"]) == (
        85.0,
        "Collections EU",
        True,
    )
    assert len(body["checks"]) == len(DEFAULT_CHECKS)
    stored = await stores.mongo[services.database]["campaigns"].find_one({"_id": created["id"]})
    assert stored is not None
    assert (stored["flag_threshold"], stored["name"], stored["auto_processing"]) == (
        85.0,
        "Collections EU",
        True,
    )
    assert (await api.get(path, headers=owner.headers)).json() == body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"flag_threshold": 101}, "flag_threshold"),
        ({"flag_threshold": -1}, "flag_threshold"),
        ({"flag_threshold": "high"}, "flag_threshold"),
        ({"flag_threshold": None}, "flag_threshold"),
        ({"auto_processing": "no"}, "auto_processing"),
        ({"name": "   "}, "name"),
        ({"auto_procesing": False}, "auto_procesing"),
        ({"transcription_provider": "whisper"}, "transcription_provider"),
        ({"transcription_provider": "LOCAL"}, "transcription_provider"),
        ({"agent_channel": "centre"}, "agent_channel"),
        ({"opening_party": "caller"}, "opening_party"),
        ({"opening_party": None}, "opening_party"),
        ({"company_name": "x" * 101}, "company_name"),
        ({"company_name": 7}, "company_name"),
    ],
)
async def test_invalid_changes_are_refused_naming_the_field_and_change_nothing(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    payload: dict[str, Any],
    field: str,
) -> None:
    campaign_id = services.credentials["campaign_id"]
    before = await stores.mongo[services.database]["campaigns"].find_one({"_id": campaign_id})

    response = await api.patch(
        f"/api/v1/campaigns/{campaign_id}", headers=owner.headers, json=payload
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert f"body.{field}" in response.json()["error"]["message"]
    after = await stores.mongo[services.database]["campaigns"].find_one({"_id": campaign_id})
    assert after == before


async def test_an_empty_change_and_invalid_new_campaigns_are_refused(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    empty = await api.patch(
        f"/api/v1/campaigns/{services.credentials['campaign_id']}", headers=owner.headers, json={}
    )
    assert empty.status_code == 422
    for setting in ("auto_processing", "flag_threshold", "name", *TRANSCRIPTION_FIELDS):
        assert setting in empty.json()["error"]["message"]
    for payload, field in (
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "Ok", "flag_threshold": 100.5}, "flag_threshold"),
        ({"name": "Ok", "transcription_provider": "whisper"}, "transcription_provider"),
        ({"name": "Ok", "company_name": "x" * 101}, "company_name"),
    ):
        response = await api.post("/api/v1/campaigns", headers=owner.headers, json=payload)
        assert response.status_code == 422, response.text
        assert f"body.{field}" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", ["MANAGER", "COMPLIANCE_OFFICER", "AGENT"])
async def test_only_senior_roles_configure_campaigns_but_everyone_reads_them(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    stores: StoreInspector,
    role: str,
) -> None:
    campaign_id = services.credentials["campaign_id"]
    person = await person_seeing(api, directory, services.credentials["org_id"], role, campaign_id)
    before = await stores.count("campaigns")

    changed = await api.patch(
        f"/api/v1/campaigns/{campaign_id}", headers=person.headers, json={"flag_threshold": 1}
    )
    created = await api.post(
        "/api/v1/campaigns", headers=person.headers, json={"name": f"by {role}"}
    )

    for response in (changed, created):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    assert await stores.count("campaigns") == before
    assert await stores.count("campaigns", {"_id": campaign_id, "flag_threshold": 1}) == 0
    read = await api.get(f"/api/v1/campaigns/{campaign_id}", headers=person.headers)
    assert read.status_code == 200


async def test_an_api_key_reads_only_its_own_campaign_and_changes_nothing(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    elsewhere = await _create(api, owner, name="Not the key's")
    key = {"X-API-Key": services.api_key}

    listed = await api.get("/api/v1/campaigns", headers=key)
    assert [c["id"] for c in listed.json()["campaigns"]] == [services.credentials["campaign_id"]]
    hidden = await api.get(f"/api/v1/campaigns/{elsewhere['id']}", headers=key)
    assert hidden.status_code == 404
    changed = await api.patch(
        f"/api/v1/campaigns/{services.credentials['campaign_id']}",
        headers=key,
        json={"auto_processing": False},
    )
    assert changed.status_code == 403
    created = await api.post("/api/v1/campaigns", headers=key, json={"name": "by key"})
    assert created.status_code == 403


async def test_another_organisations_campaign_does_not_exist(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    other: OtherOrganisation,
) -> None:
    ours = services.credentials["campaign_id"]
    before = await stores.mongo[services.database]["campaigns"].find_one({"_id": ours})

    for response in (
        await api.get(f"/api/v1/campaigns/{ours}", headers=other.owner.headers),
        await api.patch(
            f"/api/v1/campaigns/{ours}", headers=other.owner.headers, json={"name": "Mine now"}
        ),
        await api.get(f"/api/v1/campaigns/{ours}", headers={"X-API-Key": other.api_key}),
        await api.get(f"/api/v1/campaigns/{other.campaign_id}", headers=owner.headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    theirs = (await api.get("/api/v1/campaigns", headers=other.owner.headers)).json()
    assert [c["id"] for c in theirs["campaigns"]] == [other.campaign_id]
    after = await stores.mongo[services.database]["campaigns"].find_one({"_id": ours})
    assert after == before


async def test_turning_auto_processing_off_holds_the_next_upload(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    tmp_path: Path,
) -> None:
    campaign = await _create(api, owner, name="Manual review")
    key = await api.post(f"/api/v1/campaigns/{campaign['id']}/api-keys", headers=owner.headers)
    headers = {"X-API-Key": key.json()["key"]}
    audio = render_stereo(COMPLIANT.dialogue, tmp_path / "held.wav").path

    async def upload(reference: str) -> dict[str, Any]:
        with audio.open("rb") as handle:
            response = await api.post(
                "/api/v1/calls/upload",
                headers=headers,
                data={"client_reference": reference},
                files={"file": ("held.wav", handle, "audio/wav")},
            )
        assert response.status_code == 201, response.text
        call: dict[str, Any] = (
            await api.get(f"/api/v1/calls/{response.json()['id']}", headers=headers)
        ).json()
        return call

    off = await api.patch(
        f"/api/v1/campaigns/{campaign['id']}",
        headers=owner.headers,
        json={"auto_processing": False},
    )
    assert off.status_code == 200 and off.json()["auto_processing"] is False

    held = await upload("held-1")

    assert (held["status"], held["queued"]) == ("PENDING", False)
    assert await stores.count("transcripts", {"call_id": held["id"]}) == 0

    on = await api.patch(
        f"/api/v1/campaigns/{campaign['id']}", headers=owner.headers, json={"auto_processing": True}
    )
    assert on.json()["auto_processing"] is True
    queued = await upload("queued-1")
    assert queued["queued"] is True


@contextlib.asynccontextmanager
async def _directory_stub(
    services: RunningServices,
) -> AsyncIterator[directory_pb2_grpc.DirectoryStub]:
    """A client of the gateway's Directory over gRPC, as ingest and analysis call it."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{services.grpc_ports['gateway']}") as channel:
        yield directory_pb2_grpc.DirectoryStub(channel)


async def _grpc_campaign(
    services: RunningServices, org_id: str, campaign_id: str
) -> directory_pb2.Campaign:
    async with _directory_stub(services) as directory:
        request = directory_pb2.GetCampaignRequest(org_id=org_id, campaign_id=campaign_id)
        campaign: directory_pb2.Campaign = await directory.GetCampaign(request, timeout=10)
        return campaign


def _settings_of(campaign: dict[str, Any]) -> dict[str, Any]:
    return {field: campaign[field] for field in TRANSCRIPTION_FIELDS}


async def test_transcription_settings_round_trip_through_the_api_the_store_and_grpc(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    plain = await _create(api, owner, name="Inbound support")
    assert _settings_of(plain) == DEFAULTS
    chosen = {
        "transcription_provider": "assemblyai",
        "agent_channel": "right",
        "opening_party": "customer",
        "company_name": "  Acme Energy  ",
    }
    created = await _create(api, owner, name="Outbound sales", **chosen)
    assert _settings_of(created) == {**chosen, "company_name": "Acme Energy"}

    path = f"/api/v1/campaigns/{created['id']}"
    changed = await api.patch(
        path, headers=owner.headers, json={"transcription_provider": "deepgram", "company_name": ""}
    )

    assert changed.status_code == 200, changed.text
    expected = {
        "transcription_provider": "deepgram",
        "agent_channel": "right",
        "opening_party": "customer",
        "company_name": "",
    }
    assert _settings_of(changed.json()) == expected
    assert (await api.get(path, headers=owner.headers)).json() == changed.json()
    listed = (await api.get("/api/v1/campaigns", headers=owner.headers)).json()["campaigns"]
    [summary] = [campaign for campaign in listed if campaign["id"] == created["id"]]
    assert _settings_of(summary) == expected
    stored = await stores.mongo[services.database]["campaigns"].find_one({"_id": created["id"]})
    assert stored is not None and _settings_of(stored) == expected

    message = await _grpc_campaign(services, owner.org_id, created["id"])
    assert message.transcription_provider == directory_pb2.TRANSCRIPTION_PROVIDER_DEEPGRAM
    assert message.agent_channel == directory_pb2.AUDIO_CHANNEL_RIGHT
    assert message.opening_party == common_pb2.SPEAKER_CUSTOMER
    assert message.company_name == ""
    assert len(message.checks) == len(DEFAULT_CHECKS)

    await api.patch(
        path, headers=owner.headers, json={"company_name": "Acme", "agent_channel": "left"}
    )
    again = await _grpc_campaign(services, owner.org_id, created["id"])
    assert (again.company_name, again.agent_channel) == ("Acme", directory_pb2.AUDIO_CHANNEL_LEFT)


async def test_a_campaign_stored_before_the_settings_existed_reads_as_the_defaults(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    created = await _create(
        api, owner, name="Legacy", transcription_provider="deepgram", opening_party="customer"
    )
    unset = dict.fromkeys(TRANSCRIPTION_FIELDS, "")
    await stores.mongo[services.database]["campaigns"].update_one(
        {"_id": created["id"]}, {"$unset": unset}
    )

    read = await api.get(f"/api/v1/campaigns/{created['id']}", headers=owner.headers)

    assert read.status_code == 200, read.text
    assert _settings_of(read.json()) == DEFAULTS
    message = await _grpc_campaign(services, owner.org_id, created["id"])
    assert message.transcription_provider == directory_pb2.TRANSCRIPTION_PROVIDER_LOCAL
    assert message.agent_channel == directory_pb2.AUDIO_CHANNEL_LEFT
    assert message.opening_party == common_pb2.SPEAKER_AGENT
    assert message.company_name == ""


async def test_another_organisation_gets_not_found_over_grpc_too(
    services: RunningServices, other: OtherOrganisation
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _grpc_campaign(services, other.org_id, services.credentials["campaign_id"])
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("role", ["MANAGER", "COMPLIANCE_OFFICER", "AGENT"])
async def test_only_senior_roles_change_the_transcription_settings(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    stores: StoreInspector,
    owner: Person,
    role: str,
) -> None:
    campaign = await _create(api, owner, name=f"Guarded from {role}")
    path = f"/api/v1/campaigns/{campaign['id']}"
    person = await person_seeing(api, directory, owner.org_id, role, campaign["id"])
    change = {"transcription_provider": "deepgram", "agent_channel": "right"}

    refused = await api.patch(path, headers=person.headers, json=change)
    created = await api.post(
        "/api/v1/campaigns", headers=person.headers, json={"name": "x", **change}
    )

    for response in (refused, created):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    stored = await stores.mongo[services.database]["campaigns"].find_one({"_id": campaign["id"]})
    assert stored is not None and _settings_of(stored) == DEFAULTS
    read = await api.get(path, headers=person.headers)
    assert read.status_code == 200 and _settings_of(read.json()) == DEFAULTS
    senior = await new_person(api, directory, owner.org_id, "SENIOR_MANAGER")
    allowed = await api.patch(path, headers=senior.headers, json=change)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["transcription_provider"] == "deepgram"


async def test_another_organisations_transcription_settings_do_not_exist(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    other: OtherOrganisation,
) -> None:
    ours = services.credentials["campaign_id"]
    before = await stores.mongo[services.database]["campaigns"].find_one({"_id": ours})

    response = await api.patch(
        f"/api/v1/campaigns/{ours}",
        headers=other.owner.headers,
        json={"transcription_provider": "deepgram", "company_name": "Theirs"},
    )

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
    after = await stores.mongo[services.database]["campaigns"].find_one({"_id": ours})
    assert after == before
