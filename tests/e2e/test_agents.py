"""Agents: created and changed by senior roles, codes unique per organisation in any case,
and found by other services through the Directory gRPC service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from callscope.v1 import directory_pb2, directory_pb2_grpc
from callscope_gateway.adapters.mongo import MongoDirectory

from tests.support.people import (
    OtherOrganisation,
    Person,
    new_person,
)
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


@pytest.fixture(scope="module")
async def directory_rpc(
    services: RunningServices,
) -> AsyncIterator[directory_pb2_grpc.DirectoryStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{services.grpc_ports['gateway']}") as channel:
        yield directory_pb2_grpc.DirectoryStub(channel)


async def _create(api: httpx.AsyncClient, person: Person, **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/agents", headers=person.headers, json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _campaign(api: httpx.AsyncClient, person: Person, name: str) -> str:
    response = await api.post("/api/v1/campaigns", headers=person.headers, json={"name": name})
    assert response.status_code == 201, response.text
    campaign_id: str = response.json()["id"]
    return campaign_id


async def test_the_demo_agent_is_there_once(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    campaign_id = services.credentials["campaign_id"]
    response = await api.get(
        "/api/v1/agents", headers=owner.headers, params={"campaign_id": campaign_id}
    )
    assert response.status_code == 200, response.text
    demo = [agent for agent in response.json()["agents"] if agent["code"] == "JS001"]
    assert demo == [
        {"id": demo[0]["id"], "name": "John Smith", "code": "JS001", "campaign_ids": [campaign_id]}
    ]
    assert await stores.count("agents", {"code_key": "JS001", "org_id": owner.org_id}) == 1


async def test_an_agent_is_created_with_a_case_insensitive_code(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    campaign_id = services.credentials["campaign_id"]
    created = await _create(
        api, owner, name=" Jane Doe ", code="jd-002", campaign_ids=[campaign_id, campaign_id]
    )

    assert created == {
        "id": created["id"],
        "name": "Jane Doe",
        "code": "jd-002",
        "campaign_ids": [campaign_id],
    }
    stored = await stores.mongo[services.database]["agents"].find_one({"_id": created["id"]})
    assert stored is not None
    assert (stored["org_id"], stored["code"], stored["code_key"]) == (
        owner.org_id,
        "jd-002",
        "JD-002",
    )
    assert stored["campaign_ids"] == [campaign_id]

    clash = await api.post(
        "/api/v1/agents",
        headers=owner.headers,
        json={"name": "Someone Else", "code": "JD-002", "campaign_ids": []},
    )
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "agent_code_taken"
    assert await stores.count("agents", {"org_id": owner.org_id, "code_key": "JD-002"}) == 1

    read = await api.get(f"/api/v1/agents/{created['id']}", headers=owner.headers)
    assert read.status_code == 200 and read.json() == created


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "A", "code": "has space"}, "code"),
        ({"name": "A", "code": "x" * 33}, "code"),
        ({"name": "A", "code": ""}, "code"),
        ({"name": "", "code": "OK1"}, "name"),
        ({"code": "OK1"}, "name"),
        ({"name": "A", "code": "OK1", "campaign_ids": "c1"}, "campaign_ids"),
    ],
)
async def test_invalid_agents_are_refused_naming_the_field(
    api: httpx.AsyncClient,
    stores: StoreInspector,
    owner: Person,
    payload: dict[str, Any],
    field: str,
) -> None:
    before = await stores.count("agents")
    response = await api.post("/api/v1/agents", headers=owner.headers, json=payload)
    assert response.status_code == 422, response.text
    assert f"body.{field}" in response.json()["error"]["message"]
    assert await stores.count("agents") == before


async def test_campaigns_must_be_the_organisations_own(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    other: OtherOrganisation,
) -> None:
    response = await api.post(
        "/api/v1/agents",
        headers=owner.headers,
        json={
            "name": "Mixed",
            "code": "MX1",
            "campaign_ids": [services.credentials["campaign_id"], other.campaign_id],
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_campaign"
    assert other.campaign_id in response.json()["error"]["message"]
    assert await stores.count("agents", {"code_key": "MX1"}) == 0


async def test_an_agent_changes_name_code_and_campaigns(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    demo_campaign = services.credentials["campaign_id"]
    second = await _campaign(api, owner, "Agents second")
    agent = await _create(api, owner, name="Pat Lee", code="PL1", campaign_ids=[demo_campaign])
    path = f"/api/v1/agents/{agent['id']}"

    response = await api.patch(
        path,
        headers=owner.headers,
        json={"name": "Pat Lee-Smith", "code": "pl2", "campaign_ids": [second]},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": agent["id"],
        "name": "Pat Lee-Smith",
        "code": "pl2",
        "campaign_ids": [second],
    }
    stored = await stores.mongo[services.database]["agents"].find_one({"_id": agent["id"]})
    assert stored is not None
    assert (stored["code"], stored["code_key"], stored["campaign_ids"]) == ("pl2", "PL2", [second])
    in_demo = await api.get(
        "/api/v1/agents", headers=owner.headers, params={"campaign_id": demo_campaign}
    )
    assert agent["id"] not in [a["id"] for a in in_demo.json()["agents"]]
    in_second = await api.get(
        "/api/v1/agents", headers=owner.headers, params={"campaign_id": second}
    )
    assert [a["id"] for a in in_second.json()["agents"]] == [agent["id"]]

    taken = await api.patch(path, headers=owner.headers, json={"code": "js001"})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "agent_code_taken"
    nulled = await api.patch(path, headers=owner.headers, json={"name": None})
    assert nulled.status_code == 422 and "body.name" in nulled.json()["error"]["message"]
    empty = await api.patch(path, headers=owner.headers, json={})
    assert empty.status_code == 422
    unchanged = await stores.mongo[services.database]["agents"].find_one({"_id": agent["id"]})
    assert unchanged == stored


@pytest.mark.parametrize("role", ["MANAGER", "COMPLIANCE_OFFICER", "AGENT"])
async def test_only_senior_roles_manage_agents(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    stores: StoreInspector,
    owner: Person,
    role: str,
) -> None:
    person = await new_person(api, directory, services.credentials["org_id"], role)
    agent = await _create(api, owner, name="Role Check", code=f"RC-{role[:3]}")
    before = await stores.count("agents")

    created = await api.post(
        "/api/v1/agents", headers=person.headers, json={"name": "No", "code": f"NO-{role[:3]}"}
    )
    changed = await api.patch(
        f"/api/v1/agents/{agent['id']}", headers=person.headers, json={"name": "Renamed"}
    )

    for response in (created, changed):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    assert await stores.count("agents") == before
    listed = await api.get("/api/v1/agents", headers=person.headers)
    assert listed.status_code == (403 if role == "AGENT" else 200)


async def test_an_api_key_sees_only_its_campaigns_agents(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    elsewhere = await _campaign(api, owner, "Agents elsewhere")
    hidden = await _create(api, owner, name="Hidden", code="HID1", campaign_ids=[elsewhere])
    key = {"X-API-Key": services.api_key}

    listed = await api.get("/api/v1/agents", headers=key)
    assert listed.status_code == 200
    agents = listed.json()["agents"]
    assert "JS001" in [agent["code"] for agent in agents]
    assert all(services.credentials["campaign_id"] in agent["campaign_ids"] for agent in agents)
    assert (await api.get(f"/api/v1/agents/{hidden['id']}", headers=key)).status_code == 404
    other_campaign = await api.get("/api/v1/agents", headers=key, params={"campaign_id": elsewhere})
    assert other_campaign.status_code == 404
    created = await api.post("/api/v1/agents", headers=key, json={"name": "K", "code": "K1"})
    assert created.status_code == 403


async def test_another_organisations_agents_do_not_exist_and_codes_are_per_organisation(
    api: httpx.AsyncClient, owner: Person, other: OtherOrganisation, stores: StoreInspector
) -> None:
    ours = await _create(api, owner, name="Shared Code", code="SC-1")
    theirs = await _create(
        api, other.owner, name="Shared Code", code="sc-1", campaign_ids=[other.campaign_id]
    )

    for response in (
        await api.get(f"/api/v1/agents/{ours['id']}", headers=other.owner.headers),
        await api.patch(
            f"/api/v1/agents/{ours['id']}", headers=other.owner.headers, json={"name": "Stolen"}
        ),
        await api.get(f"/api/v1/agents/{theirs['id']}", headers=owner.headers),
        await api.get(f"/api/v1/agents/{ours['id']}", headers={"X-API-Key": other.api_key}),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    listed = (await api.get("/api/v1/agents", headers=other.owner.headers)).json()["agents"]
    assert [agent["id"] for agent in listed] == [theirs["id"]]
    assert await stores.count("agents", {"code_key": "SC-1"}) == 2
    assert await stores.count("agents", {"_id": ours["id"], "name": "Shared Code"}) == 1


async def test_find_agent_and_get_agent_over_grpc(
    api: httpx.AsyncClient,
    services: RunningServices,
    owner: Person,
    other: OtherOrganisation,
    directory_rpc: directory_pb2_grpc.DirectoryStub,
) -> None:
    org_id, campaign_id = owner.org_id, services.credentials["campaign_id"]
    lonely = await _campaign(api, owner, "No agents here")

    found = await directory_rpc.FindAgent(
        directory_pb2.FindAgentRequest(org_id=org_id, campaign_id=campaign_id, code="js001")
    )

    assert (found.code, found.name, found.org_id) == ("JS001", "John Smith", org_id)
    assert list(found.campaign_ids) == [campaign_id]
    by_id = await directory_rpc.GetAgent(
        directory_pb2.GetAgentRequest(org_id=org_id, agent_id=found.id)
    )
    assert by_id == found

    misses = [
        directory_rpc.FindAgent(
            directory_pb2.FindAgentRequest(org_id=org_id, campaign_id=lonely, code="JS001")
        ),
        directory_rpc.FindAgent(
            directory_pb2.FindAgentRequest(org_id=org_id, campaign_id=campaign_id, code="NOPE1")
        ),
        directory_rpc.FindAgent(
            directory_pb2.FindAgentRequest(org_id=org_id, campaign_id=campaign_id, code="")
        ),
        directory_rpc.FindAgent(
            directory_pb2.FindAgentRequest(
                org_id=other.org_id, campaign_id=campaign_id, code="JS001"
            )
        ),
        directory_rpc.GetAgent(
            directory_pb2.GetAgentRequest(org_id=other.org_id, agent_id=found.id)
        ),
        directory_rpc.GetAgent(directory_pb2.GetAgentRequest(org_id=org_id, agent_id="nope")),
    ]
    for call in misses:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
