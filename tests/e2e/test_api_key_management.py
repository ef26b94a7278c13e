"""Campaign API keys: minted by senior managers and owners, shown once, listed, revoked."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory

from tests.support.people import (
    OtherOrganisation,
    Person,
    new_person,
)
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


@pytest.fixture(scope="module")
async def senior(
    api: httpx.AsyncClient, services: RunningServices, directory: MongoDirectory
) -> Person:
    return await new_person(api, directory, services.credentials["org_id"], "SENIOR_MANAGER")


def _keys_path(campaign_id: str) -> str:
    return f"/api/v1/campaigns/{campaign_id}/api-keys"


async def test_a_senior_manager_mints_a_key_that_is_shown_once_and_stored_as_a_hash(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, senior: Person
) -> None:
    campaign_id = services.credentials["campaign_id"]
    response = await api.post(
        _keys_path(campaign_id),
        headers=senior.headers,
        json={"name": "CRM integration", "rate_limit_per_minute": 120},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    raw = body["key"]
    assert raw.startswith("tv_") and len(raw) >= 46
    assert body["display_prefix"] == raw[:9]
    assert body["name"] == "CRM integration"
    assert body["rate_limit_per_minute"] == 120
    assert body["campaign_id"] == campaign_id
    stored = await stores.mongo[services.database]["api_keys"].find_one({"_id": body["id"]})
    assert stored is not None
    assert stored["hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(stored)
    assert stored["org_id"] == services.credentials["org_id"]
    assert stored["campaign_id"] == campaign_id
    assert stored["rate_limit_per_minute"] == 120
    assert stored["revoked_at"] is None

    # The key works, for its campaign only.
    campaigns = await api.get("/api/v1/campaigns", headers={"X-API-Key": raw})
    assert campaigns.status_code == 200
    assert [c["id"] for c in campaigns.json()["campaigns"]] == [campaign_id]

    listed = await api.get(_keys_path(campaign_id), headers=senior.headers)
    assert listed.status_code == 200
    entry = next(k for k in listed.json()["api_keys"] if k["id"] == body["id"])
    assert set(entry) == {
        "id",
        "campaign_id",
        "name",
        "display_prefix",
        "rate_limit_per_minute",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    assert entry["last_used_at"] is not None and entry["revoked_at"] is None
    assert raw not in listed.text and stored["hash"] not in listed.text


async def test_a_key_without_options_uses_the_default_limit(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    response = await api.post(
        _keys_path(services.credentials["campaign_id"]), headers=owner.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == ""
    assert response.json()["rate_limit_per_minute"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"rate_limit_per_minute": "60"}, "rate_limit_per_minute"),
        ({"name": "x" * 201}, "name"),
        ({"label": "typo"}, "label"),
    ],
)
async def test_invalid_key_options_are_refused_naming_the_field(
    api: httpx.AsyncClient,
    services: RunningServices,
    owner: Person,
    payload: dict[str, object],
    field: str,
) -> None:
    response = await api.post(
        _keys_path(services.credentials["campaign_id"]), headers=owner.headers, json=payload
    )
    assert response.status_code == 422, response.text
    assert f"body.{field}" in response.json()["error"]["message"]


async def test_a_revoked_key_answers_401_and_keeps_its_revocation_time(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    campaign_id = services.credentials["campaign_id"]
    created = (await api.post(_keys_path(campaign_id), headers=owner.headers)).json()
    key_headers = {"X-API-Key": created["key"]}
    assert (
        await api.get(f"/api/v1/campaigns/{campaign_id}", headers=key_headers)
    ).status_code == 200

    revoked = await api.delete(f"/api/v1/api-keys/{created['id']}", headers=owner.headers)

    assert revoked.status_code == 204
    refused = await api.get(f"/api/v1/campaigns/{campaign_id}", headers=key_headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    keys = stores.mongo[services.database]["api_keys"]
    stored = await keys.find_one({"_id": created["id"]})
    assert stored is not None and stored["revoked_at"] is not None
    listed = (await api.get(_keys_path(campaign_id), headers=owner.headers)).json()["api_keys"]
    entry = next(k for k in listed if k["id"] == created["id"])
    assert entry["revoked_at"] is not None

    again = await api.delete(f"/api/v1/api-keys/{created['id']}", headers=owner.headers)
    assert again.status_code == 204
    unchanged = await keys.find_one({"_id": created["id"]})
    assert unchanged is not None and unchanged["revoked_at"] == stored["revoked_at"]
    # The demo key of the same campaign is untouched.
    demo = await api.get(
        f"/api/v1/campaigns/{campaign_id}", headers={"X-API-Key": services.api_key}
    )
    assert demo.status_code == 200


@pytest.mark.parametrize("role", ["MANAGER", "COMPLIANCE_OFFICER", "AGENT"])
async def test_other_roles_may_not_mint_list_or_revoke_keys(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    stores: StoreInspector,
    owner: Person,
    role: str,
) -> None:
    campaign_id = services.credentials["campaign_id"]
    person = await new_person(api, directory, services.credentials["org_id"], role)
    existing = (await api.post(_keys_path(campaign_id), headers=owner.headers)).json()
    before = await stores.count("api_keys")

    responses = [
        await api.post(_keys_path(campaign_id), headers=person.headers),
        await api.get(_keys_path(campaign_id), headers=person.headers),
        await api.delete(f"/api/v1/api-keys/{existing['id']}", headers=person.headers),
    ]

    for response in responses:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    assert await stores.count("api_keys") == before
    assert await stores.count("api_keys", {"_id": existing["id"], "revoked_at": None}) == 1


async def test_an_api_key_can_never_mint_or_revoke_keys(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    campaign_id = services.credentials["campaign_id"]
    key = {"X-API-Key": services.api_key}
    before = await stores.count("api_keys")
    own_key = await stores.mongo[services.database]["api_keys"].find_one(
        {"hash": hashlib.sha256(services.api_key.encode()).hexdigest()}
    )
    assert own_key is not None
    own_key_id = own_key["_id"]

    for response in (
        await api.post(_keys_path(campaign_id), headers=key),
        await api.get(_keys_path(campaign_id), headers=key),
        await api.delete(f"/api/v1/api-keys/{own_key_id}", headers=key),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    assert await stores.count("api_keys") == before
    assert await stores.count("api_keys", {"_id": own_key_id, "revoked_at": None}) == 1


async def test_another_organisations_campaigns_and_keys_do_not_exist(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    other: OtherOrganisation,
) -> None:
    campaign_id = services.credentials["campaign_id"]
    ours = (await api.post(_keys_path(campaign_id), headers=owner.headers)).json()
    before = await stores.count("api_keys")

    for response in (
        await api.post(_keys_path(campaign_id), headers=other.owner.headers),
        await api.get(_keys_path(campaign_id), headers=other.owner.headers),
        await api.delete(f"/api/v1/api-keys/{ours['id']}", headers=other.owner.headers),
        await api.post(_keys_path("no-such-campaign"), headers=owner.headers),
        await api.delete("/api/v1/api-keys/no-such-key", headers=owner.headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert await stores.count("api_keys") == before
    assert (
        await api.get(f"/api/v1/campaigns/{campaign_id}", headers={"X-API-Key": ours["key"]})
    ).status_code == 200
    # And the other way round: our owner cannot see or touch theirs.
    theirs = await api.get(_keys_path(other.campaign_id), headers=owner.headers)
    assert theirs.status_code == 404
