"""Per-key rate limits: a key with its own small limit gets 429 with Retry-After, others do not."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support.people import Person, demo_owner
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

LIMIT = 3


@pytest.fixture(scope="module")
async def owner(api: httpx.AsyncClient, services: RunningServices) -> Person:
    return await demo_owner(api, services)


async def _mint(api: httpx.AsyncClient, owner: Person, campaign_id: str) -> dict[str, Any]:
    response = await api.post(
        f"/api/v1/campaigns/{campaign_id}/api-keys",
        headers=owner.headers,
        json={"name": "small limit", "rate_limit_per_minute": LIMIT},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_key_over_its_limit_gets_429_with_retry_after_until_the_window_ends(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    campaign_id = services.credentials["campaign_id"]
    path = f"/api/v1/campaigns/{campaign_id}"
    # The window is the wall-clock minute: if this run straddles a minute boundary,
    # the count restarts midway, so try again with a fresh key.
    for _ in range(3):
        key = await _mint(api, owner, campaign_id)
        window_start = int(time.time()) // 60 * 60
        responses = [
            await api.get(path, headers={"X-API-Key": key["key"]}) for _ in range(LIMIT + 2)
        ]
        after = time.time()
        if int(after) // 60 * 60 == window_start:
            break
    else:
        pytest.fail("three runs in a row straddled a minute boundary")

    assert [r.status_code for r in responses] == [200] * LIMIT + [429, 429]
    refused = responses[LIMIT]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert f"{LIMIT} requests per minute" in refused.json()["error"]["message"]
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert retry_after >= window_start + 60 - after - 1
    assert f"try again in {retry_after} s" in refused.json()["error"]["message"]

    usage = stores.mongo[services.database]["api_key_usage"]
    counter = await usage.find_one({"_id": f"{key['id']}:{window_start}"})
    assert counter is not None
    assert counter["count"] == LIMIT + 2 and counter["key_id"] == key["id"]
    assert await usage.count_documents({"key_id": key["id"], "slot": True}) == LIMIT

    # Another key of the same campaign has its own count.
    other = await api.get(path, headers={"X-API-Key": services.api_key})
    assert other.status_code == 200


async def test_signed_in_users_are_not_limited_by_a_keys_window(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    campaign_id = services.credentials["campaign_id"]
    for _ in range(LIMIT + 2):
        response = await api.get(f"/api/v1/campaigns/{campaign_id}", headers=owner.headers)
        assert response.status_code == 200
