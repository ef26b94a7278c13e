"""Campaign settings over the API: list, read, create with the default checks, change, and
the next upload following a changed auto-processing switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.support.audio import render_stereo
from tests.support.people import (
    OtherOrganisation,
    Person,
    new_person,
)
from tests.support.scripts import COMPLIANT
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


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
        set(campaign) == {"id", "name", "flag_threshold", "auto_processing", "created_at"}
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
    assert "auto_processing, flag_threshold, name" in empty.json()["error"]["message"]
    for payload, field in (
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "Ok", "flag_threshold": 100.5}, "flag_threshold"),
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
    person = await new_person(api, directory, services.credentials["org_id"], role)
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
