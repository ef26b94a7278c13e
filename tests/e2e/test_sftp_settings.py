"""A campaign's SFTP settings over the API: shown with the upload path, changed in part,
refused with bodies that say why, changed only by Senior Managers and Owners, folder slugs
unique in an organisation (also under concurrent changes), another organisation's campaign
not found; `Directory.ListSftpCampaigns` over real gRPC as the sftp service calls it; the demo
campaign's drop folder; and the batches, files and sweeper status read from the sftp service."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from callscope.v1 import directory_pb2, directory_pb2_grpc
from callscope_gateway.adapters.mongo import MongoDirectory

from tests.support.people import OtherOrganisation, Person, new_person, person_seeing
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

OFF = {
    "enabled": False,
    "folder_slug": "",
    "csv": "optional",
    "batch_window_seconds": 300,
    "agent_file_name_pattern": "",
    "upload_path": None,
}


@pytest.fixture(scope="module")
async def directory_rpc(
    services: RunningServices,
) -> AsyncIterator[directory_pb2_grpc.DirectoryStub]:
    """The gateway's Directory over gRPC, as the sftp service calls it each sweep."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{services.grpc_ports['gateway']}") as channel:
        yield directory_pb2_grpc.DirectoryStub(channel)


def _slug(prefix: str) -> str:
    """A slug no other test of the run uses (the demo organisation is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _campaign(api: httpx.AsyncClient, person: Person, name: str) -> dict[str, Any]:
    response = await api.post("/api/v1/campaigns", headers=person.headers, json={"name": name})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _patch_sftp(
    api: httpx.AsyncClient, headers: dict[str, str], campaign_id: str, **sftp: Any
) -> httpx.Response:
    return await api.patch(f"/api/v1/campaigns/{campaign_id}", headers=headers, json={"sftp": sftp})


async def _stored_sftp(
    stores: StoreInspector, services: RunningServices, campaign_id: str
) -> dict[str, Any] | None:
    document = await stores.mongo[services.database]["campaigns"].find_one({"_id": campaign_id})
    assert document is not None
    stored: dict[str, Any] | None = document.get("sftp")
    return stored


async def _sftp_campaigns(
    rpc: directory_pb2_grpc.DirectoryStub,
) -> dict[str, directory_pb2.SftpCampaign]:
    response = await rpc.ListSftpCampaigns(directory_pb2.ListSftpCampaignsRequest(), timeout=10)
    return {campaign.campaign_id: campaign for campaign in response.campaigns}


# -- the demo ------------------------------------------------------------------------------


async def test_the_demo_campaign_takes_files_from_its_inbound_folder(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    credentials = services.credentials
    # The gateway's org ids are hex, so the organisation's folder is its id.
    assert credentials["sftp_folder"] == credentials["org_id"]
    assert {"email", "password", "api_key", "org_id", "campaign_id"} <= set(credentials)
    org = await stores.mongo[services.database]["orgs"].find_one({"_id": credentials["org_id"]})
    assert org is not None and org["sftp_folder"] == credentials["sftp_folder"]

    read = await api.get(f"/api/v1/campaigns/{credentials['campaign_id']}", headers=owner.headers)

    assert read.status_code == 200, read.text
    assert read.json()["sftp"] == {
        "enabled": True,
        "folder_slug": "inbound",
        "csv": "optional",
        "batch_window_seconds": 30,
        "agent_file_name_pattern": "",
        "upload_path": f"/{credentials['sftp_folder']}/inbound/",
    }


# -- reading and changing ------------------------------------------------------------------


async def test_settings_change_in_part_are_stored_and_show_the_upload_path(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    directory_rpc: directory_pb2_grpc.DirectoryStub,
) -> None:
    created = await _campaign(api, owner, "Drop folder")
    assert created["sftp"] == OFF
    path = f"/api/v1/campaigns/{created['id']}"
    assert await _stored_sftp(stores, services, created["id"]) is None
    slug = _slug("drop")

    enabled = await _patch_sftp(
        api, owner.headers, created["id"], enabled=True, folder_slug=f"  {slug} "
    )

    assert enabled.status_code == 200, enabled.text
    expected = {
        **OFF,
        "enabled": True,
        "folder_slug": slug,
        "upload_path": f"/{owner.org_id}/{slug}/",
    }
    assert enabled.json()["sftp"] == expected
    assert enabled.json()["name"] == "Drop folder"

    changed = await api.patch(
        path,
        headers=owner.headers,
        json={
            "flag_threshold": 60,
            "sftp": {
                "csv": "required",
                "batch_window_seconds": 0,
                "agent_file_name_pattern": "rec_*_{agent}.*",
            },
        },
    )

    assert changed.status_code == 200, changed.text
    expected = {
        **expected,
        "csv": "required",
        "batch_window_seconds": 0,
        "agent_file_name_pattern": "rec_*_{agent}.*",
    }
    assert changed.json()["sftp"] == expected
    assert changed.json()["flag_threshold"] == 60.0
    assert (await api.get(path, headers=owner.headers)).json() == changed.json()
    assert await _stored_sftp(stores, services, created["id"]) == {
        key: value for key, value in expected.items() if key != "upload_path"
    }
    message = await directory_rpc.GetCampaign(
        directory_pb2.GetCampaignRequest(org_id=owner.org_id, campaign_id=created["id"]),
        timeout=10,
    )
    assert message.sftp == directory_pb2.SftpSettings(
        enabled=True,
        folder_slug=slug,
        csv=directory_pb2.SFTP_CSV_REQUIREMENT_REQUIRED,
        batch_window_seconds=0,
        agent_file_name_pattern="rec_*_{agent}.*",
    )

    off = await _patch_sftp(api, owner.headers, created["id"], enabled=False)
    assert off.status_code == 200, off.text
    assert off.json()["sftp"] == {**expected, "enabled": False}
    cleared = await _patch_sftp(api, owner.headers, created["id"], folder_slug="")
    assert cleared.json()["sftp"]["upload_path"] is None


@pytest.mark.parametrize(
    ("sftp", "field", "words"),
    [
        ({"folder_slug": "Inbound"}, "body.sftp.folder_slug", "lower-case letters a-z"),
        ({"folder_slug": "../other"}, "body.sftp.folder_slug", "starting with a letter or digit"),
        ({"folder_slug": "in bound"}, "body.sftp.folder_slug", "'-' and '_'"),
        ({"folder_slug": "x" * 64}, "body.sftp.folder_slug", "1 to 63 characters"),
        ({"folder_slug": None}, "body.sftp.folder_slug", "may not be null"),
        ({"enabled": "yes"}, "body.sftp.enabled", "valid boolean"),
        ({"csv": "sometimes"}, "body.sftp.csv", "'optional' or 'required'"),
        ({"batch_window_seconds": 86401}, "body.sftp.batch_window_seconds", "0 to 86400"),
        ({"batch_window_seconds": "30"}, "body.sftp.batch_window_seconds", "valid integer"),
        ({"agent_file_name_pattern": "*.wav"}, "body.sftp.agent_file_name_pattern", "{agent}"),
        ({"agent_file_name_pattern": "a/{agent}"}, "body.sftp.agent_file_name_pattern", "path"),
        ({"folder": "inbound"}, "body.sftp.folder", "Extra inputs are not permitted"),
    ],
)
async def test_invalid_sftp_settings_are_refused_naming_the_field_and_change_nothing(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    sftp: dict[str, Any],
    field: str,
    words: str,
) -> None:
    campaign_id = services.credentials["campaign_id"]
    before = await stores.mongo[services.database]["campaigns"].find_one({"_id": campaign_id})

    response = await api.patch(
        f"/api/v1/campaigns/{campaign_id}",
        headers=owner.headers,
        json={"name": "Renamed by a refused request", "sftp": sftp},
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"] and words in error["message"], error
    after = await stores.mongo[services.database]["campaigns"].find_one({"_id": campaign_id})
    assert after == before


async def test_enabling_without_a_slug_and_an_empty_sftp_change_are_refused(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    created = await _campaign(api, owner, "No folder yet")

    no_slug = await api.patch(
        f"/api/v1/campaigns/{created['id']}",
        headers=owner.headers,
        json={"flag_threshold": 10, "sftp": {"enabled": True}},
    )
    empty = await _patch_sftp(api, owner.headers, created["id"])

    assert no_slug.status_code == 422, no_slug.text
    assert no_slug.json()["error"]["code"] == "invalid_field"
    assert no_slug.json()["error"]["message"].startswith("sftp.folder_slug: ")
    assert "needs a folder slug" in no_slug.json()["error"]["message"]
    assert empty.status_code == 422, empty.text
    assert empty.json()["error"]["code"] == "invalid_field"
    assert "enabled, folder_slug, csv, batch_window_seconds" in empty.json()["error"]["message"]
    # Nothing of the refused request was written: not the SFTP part, not the threshold.
    stored = await stores.mongo[services.database]["campaigns"].find_one({"_id": created["id"]})
    assert stored is not None and stored.get("sftp") is None and stored["flag_threshold"] == 70.0


# -- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["MANAGER", "COMPLIANCE_OFFICER", "AGENT"])
async def test_only_senior_managers_and_owners_configure_sftp_but_viewers_see_it(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    directory: MongoDirectory,
    owner: Person,
    role: str,
) -> None:
    created = await _campaign(api, owner, f"SFTP guarded from {role}")
    person = await person_seeing(api, directory, owner.org_id, role, created["id"])
    slug = _slug("guarded")

    refused = await _patch_sftp(api, person.headers, created["id"], enabled=True, folder_slug=slug)

    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert "configure SFTP ingestion" in refused.json()["error"]["message"]
    assert await _stored_sftp(stores, services, created["id"]) is None
    read = await api.get(f"/api/v1/campaigns/{created['id']}", headers=person.headers)
    assert read.status_code == 200 and read.json()["sftp"] == OFF

    senior = await new_person(api, directory, owner.org_id, "SENIOR_MANAGER")
    allowed = await _patch_sftp(api, senior.headers, created["id"], enabled=True, folder_slug=slug)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["sftp"]["upload_path"] == f"/{owner.org_id}/{slug}/"
    seen = await api.get(f"/api/v1/campaigns/{created['id']}", headers=person.headers)
    assert seen.json()["sftp"] == allowed.json()["sftp"]


async def test_an_api_key_sees_its_campaigns_sftp_settings_but_changes_nothing(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    campaign_id = services.credentials["campaign_id"]
    key = {"X-API-Key": services.api_key}
    before = await _stored_sftp(stores, services, campaign_id)

    read = await api.get(f"/api/v1/campaigns/{campaign_id}", headers=key)
    refused = await _patch_sftp(api, key, campaign_id, enabled=False)

    assert read.status_code == 200 and read.json()["sftp"]["folder_slug"] == "inbound"
    assert refused.status_code == 403, refused.text
    assert "configure SFTP ingestion" in refused.json()["error"]["message"]
    assert await _stored_sftp(stores, services, campaign_id) == before


async def test_another_organisations_campaign_does_not_exist_for_sftp(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    other: OtherOrganisation,
) -> None:
    ours = services.credentials["campaign_id"]
    before = await _stored_sftp(stores, services, ours)
    theirs_before = await _stored_sftp(stores, services, other.campaign_id)

    for response in (
        await _patch_sftp(api, other.owner.headers, ours, enabled=False),
        await _patch_sftp(api, owner.headers, other.campaign_id, enabled=True, folder_slug="x"),
        await api.get(f"/api/v1/campaigns/{ours}/sftp/batches", headers=other.owner.headers),
        await api.get(f"/api/v1/campaigns/{ours}/sftp/files", headers=other.owner.headers),
        await api.get(f"/api/v1/campaigns/{ours}/sftp/batches/b1", headers=other.owner.headers),
        await api.get(
            f"/api/v1/campaigns/{ours}/sftp/batches", headers={"X-API-Key": other.api_key}
        ),
        await api.get(f"/api/v1/campaigns/{other.campaign_id}/sftp/files", headers=owner.headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert await _stored_sftp(stores, services, ours) == before
    assert await _stored_sftp(stores, services, other.campaign_id) == theirs_before


# -- folder slugs --------------------------------------------------------------------------


async def test_a_folder_slug_belongs_to_one_campaign_of_an_organisation(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    other: OtherOrganisation,
) -> None:
    first = await _campaign(api, owner, "First with the slug")
    second = await _campaign(api, owner, "Second with the slug")
    slug = _slug("shared")
    assert (await _patch_sftp(api, owner.headers, first["id"], folder_slug=slug)).status_code == 200

    taken = await _patch_sftp(api, owner.headers, second["id"], enabled=True, folder_slug=slug)

    assert taken.status_code == 409, taken.text
    error = taken.json()["error"]
    assert error["code"] == "folder_slug_taken"
    assert "'First with the slug'" in error["message"] and f"'{slug}'" in error["message"]
    assert "choose another slug" in error["message"]
    assert await _stored_sftp(stores, services, second["id"]) is None
    # Its own slug again is no clash; another organisation has folders of its own.
    again = await _patch_sftp(api, owner.headers, first["id"], folder_slug=slug, enabled=True)
    assert again.status_code == 200, again.text
    theirs = await _patch_sftp(
        api, other.owner.headers, other.campaign_id, enabled=True, folder_slug=slug
    )
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["sftp"]["upload_path"] == f"/{other.org_id}/{slug}/"

    # A slug let go of is free again.
    moved = await _patch_sftp(api, owner.headers, first["id"], folder_slug=_slug("moved"))
    assert moved.status_code == 200, moved.text
    freed = await _patch_sftp(api, owner.headers, second["id"], folder_slug=slug)
    assert freed.status_code == 200, freed.text
    assert freed.json()["sftp"]["folder_slug"] == slug


async def test_concurrent_changes_to_one_slug_have_exactly_one_winner(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    campaigns = [await _campaign(api, owner, f"Racer {n}") for n in range(6)]
    slug = _slug("race")

    responses = await asyncio.gather(
        *(
            _patch_sftp(api, owner.headers, campaign["id"], enabled=True, folder_slug=slug)
            for campaign in campaigns
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 5, [response.text for response in responses]
    assert all(
        response.json()["error"]["code"] == "folder_slug_taken"
        for response in responses
        if response.status_code == 409
    )
    holders = await stores.count("campaigns", {"org_id": owner.org_id, "sftp.folder_slug": slug})
    assert holders == 1
    [winner] = [r.json()["id"] for r in responses if r.status_code == 200]
    assert await stores.count("campaigns", {"_id": winner, "sftp.folder_slug": slug}) == 1
    assert await stores.count("sftp_locks", {"_id": owner.org_id}) == 0


# -- Directory.ListSftpCampaigns -----------------------------------------------------------


async def test_list_sftp_campaigns_gives_every_enabled_campaign_with_its_org_folder(
    api: httpx.AsyncClient,
    services: RunningServices,
    owner: Person,
    other: OtherOrganisation,
    directory_rpc: directory_pb2_grpc.DirectoryStub,
) -> None:
    enabled = await _campaign(api, owner, "Swept")
    disabled = await _campaign(api, owner, "Has a slug, switched off")
    plain = await _campaign(api, owner, "No SFTP")
    slug = _slug("swept")
    response = await _patch_sftp(
        api, owner.headers, enabled["id"], enabled=True, folder_slug=slug, csv="required"
    )
    assert response.status_code == 200, response.text
    response = await _patch_sftp(api, owner.headers, disabled["id"], folder_slug=_slug("idle"))
    assert response.status_code == 200, response.text
    theirs_slug = _slug("theirs")
    response = await _patch_sftp(
        api, other.owner.headers, other.campaign_id, enabled=True, folder_slug=theirs_slug
    )
    assert response.status_code == 200, response.text

    listed = await _sftp_campaigns(directory_rpc)

    assert disabled["id"] not in listed and plain["id"] not in listed
    assert listed[enabled["id"]] == directory_pb2.SftpCampaign(
        org_id=owner.org_id,
        campaign_id=enabled["id"],
        campaign_name="Swept",
        org_folder=owner.org_id,
        settings=directory_pb2.SftpSettings(
            enabled=True,
            folder_slug=slug,
            csv=directory_pb2.SFTP_CSV_REQUIREMENT_REQUIRED,
            batch_window_seconds=300,
        ),
    )
    demo = listed[services.credentials["campaign_id"]]
    assert (demo.org_folder, demo.settings.folder_slug) == (
        services.credentials["sftp_folder"],
        "inbound",
    )
    theirs = listed[other.campaign_id]
    assert (theirs.org_id, theirs.org_folder, theirs.settings.folder_slug) == (
        other.org_id,
        other.org_id,
        theirs_slug,
    )
    assert all(c.settings.enabled and c.settings.folder_slug for c in listed.values())

    # The next call already follows a change: no restart, no cache.
    await _patch_sftp(api, owner.headers, enabled["id"], enabled=False)
    assert enabled["id"] not in await _sftp_campaigns(directory_rpc)


# -- batches and files (answered by the sftp service) --------------------------------------


async def test_a_campaign_without_batches_lists_none(api: httpx.AsyncClient, owner: Person) -> None:
    created = await _campaign(api, owner, "Nothing dropped yet")
    base = f"/api/v1/campaigns/{created['id']}/sftp"

    batches = await api.get(f"{base}/batches", headers=owner.headers)
    waiting = await api.get(
        f"{base}/batches",
        headers=owner.headers,
        params={"status": "waiting_for_csv,WAITING_FOR_FILES", "page_size": 5},
    )
    files = await api.get(f"{base}/files", headers=owner.headers, params={"status": "DUPLICATE"})
    missing = await api.get(f"{base}/batches/{uuid.uuid4().hex}", headers=owner.headers)

    assert batches.status_code == 200, batches.text
    assert batches.json() == {"batches": [], "next_page_token": None}
    assert waiting.status_code == 200 and waiting.json()["batches"] == []
    assert files.status_code == 200, files.text
    assert files.json() == {"files": [], "next_page_token": None}
    assert missing.status_code == 404, missing.text
    assert missing.json()["error"]["code"] == "not_found"


async def test_bad_filters_are_refused_before_the_sftp_service_is_asked(
    api: httpx.AsyncClient, owner: Person
) -> None:
    created = await _campaign(api, owner, "Filtered")
    base = f"/api/v1/campaigns/{created['id']}/sftp"

    status = await api.get(f"{base}/batches", headers=owner.headers, params={"status": "DONE"})
    file_status = await api.get(f"{base}/files", headers=owner.headers, params={"status": "NEW"})
    size = await api.get(f"{base}/files", headers=owner.headers, params={"page_size": 0})

    assert status.status_code == 400, status.text
    assert status.json()["error"]["code"] == "invalid_request"
    assert "'DONE' is not one of DETECTING, WAITING_FOR_CSV" in status.json()["error"]["message"]
    assert file_status.status_code == 400
    assert "DETECTED, MATCHED, PROCESSING" in file_status.json()["error"]["message"]
    assert size.status_code == 422 and "page_size" in size.json()["error"]["message"]


async def test_batches_are_for_those_who_see_the_campaigns_calls(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    owner: Person,
) -> None:
    campaign_id = services.credentials["campaign_id"]
    agent = await new_person(api, directory, owner.org_id, "AGENT")
    manager = await new_person(api, directory, owner.org_id, "MANAGER", campaign_ids=[campaign_id])
    base = f"/api/v1/campaigns/{campaign_id}/sftp"

    refused = await api.get(f"{base}/batches", headers=agent.headers)
    by_manager = await api.get(f"{base}/batches", headers=manager.headers)
    by_key = await api.get(f"{base}/files", headers={"X-API-Key": services.api_key})

    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert by_manager.status_code == 200, by_manager.text
    assert by_key.status_code == 200, by_key.text


async def test_the_sweepers_status_is_for_senior_managers_and_owners(
    api: httpx.AsyncClient, directory: MongoDirectory, owner: Person
) -> None:
    manager = await new_person(api, directory, owner.org_id, "MANAGER")

    refused = await api.get("/api/v1/sftp/status", headers=manager.headers)
    status = await api.get("/api/v1/sftp/status", headers=owner.headers)

    assert refused.status_code == 403, refused.text
    assert "configure SFTP ingestion" in refused.json()["error"]["message"]
    assert status.status_code == 200, status.text
    assert isinstance(status.json()["replicas"], list)
