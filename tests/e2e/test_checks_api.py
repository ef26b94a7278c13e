"""A campaign's quality checks over the API: add, read, change, delete and reorder them; the
rules' refusals and their error bodies; who may read and who may change; other
organisations' ids; API key scope; concurrent edits; and what the Directory's gRPC answer
gives the analysis service afterwards (checks with their hints, evaluator and Claude model)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from callscope.v1 import common_pb2, directory_pb2, directory_pb2_grpc
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.support.people import OtherOrganisation, Person, new_person, person_seeing
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

DEFAULT_IDS = [check.id for check in DEFAULT_CHECKS]
REFUND = {
    "name": "  Refund policy ",
    "question": "Did the agent explain the refund policy when the customer asked for a refund?",
    "category": "Compliance",
    "weight": 12.5,
    "critical": True,
    "speaker": "agent",
    "phrases": ["within fourteen days", "", "Within Fourteen Days", "full refund"],
    "window": "anywhere",
    "answer_type": "YES_NO_NOT_APPLICABLE",
    "keywords": ["refund", "days"],
    "applies_when": ["refund", "money back"],
}


@pytest.fixture(scope="module")
async def directory_rpc(
    services: RunningServices,
) -> AsyncIterator[directory_pb2_grpc.DirectoryStub]:
    """The gateway's Directory over gRPC, as the analysis service calls it."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{services.grpc_ports['gateway']}") as channel:
        yield directory_pb2_grpc.DirectoryStub(channel)


async def _grpc_campaign(
    rpc: directory_pb2_grpc.DirectoryStub, org_id: str, campaign_id: str
) -> directory_pb2.Campaign:
    request = directory_pb2.GetCampaignRequest(org_id=org_id, campaign_id=campaign_id)
    campaign: directory_pb2.Campaign = await rpc.GetCampaign(request, timeout=10)
    return campaign


async def _campaign(api: httpx.AsyncClient, person: Person, name: str, **fields: Any) -> str:
    response = await api.post(
        "/api/v1/campaigns", headers=person.headers, json={"name": name, **fields}
    )
    assert response.status_code == 201, response.text
    campaign_id: str = response.json()["id"]
    return campaign_id


def _checks_path(campaign_id: str) -> str:
    return f"/api/v1/campaigns/{campaign_id}/checks"


async def _ids(api: httpx.AsyncClient, headers: dict[str, str], campaign_id: str) -> list[str]:
    response = await api.get(_checks_path(campaign_id), headers=headers)
    assert response.status_code == 200, response.text
    return [check["id"] for check in response.json()["checks"]]


async def _add(
    api: httpx.AsyncClient, person: Person, campaign_id: str, **fields: Any
) -> dict[str, Any]:
    response = await api.post(_checks_path(campaign_id), headers=person.headers, json=fields)
    assert response.status_code == 201, response.text
    check: dict[str, Any] = response.json()
    return check


async def _stored_checks(
    stores: StoreInspector, services: RunningServices, campaign_id: str
) -> list[dict[str, Any]]:
    """The campaign's check documents as stored, in order, without their creation times."""
    cursor = stores.mongo[services.database]["checks"].find({"campaign_id": campaign_id})
    documents = [
        {key: value for key, value in document.items() if key != "created_at"}
        async for document in cursor.sort("position", 1)
    ]
    return documents


async def test_a_check_round_trips_through_the_api_the_store_and_grpc(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    directory_rpc: directory_pb2_grpc.DirectoryStub,
) -> None:
    campaign_id = await _campaign(api, owner, "Checks round trip")
    path = _checks_path(campaign_id)
    listed = await api.get(path, headers=owner.headers)
    assert listed.status_code == 200, listed.text
    assert [check["id"] for check in listed.json()["checks"]] == DEFAULT_IDS
    campaign = (await api.get(f"/api/v1/campaigns/{campaign_id}", headers=owner.headers)).json()
    assert listed.json()["checks"] == campaign["checks"]

    created = await _add(api, owner, campaign_id, **REFUND)

    assert re.fullmatch(r"chk_[0-9a-f]{12}", created["id"]), created["id"]
    assert created == {
        **REFUND,
        "id": created["id"],
        "name": "Refund policy",
        "speaker": "AGENT",
        "window": "ANYWHERE",
        "phrases": ["within fourteen days", "full refund"],
    }
    assert await _ids(api, owner.headers, campaign_id) == [*DEFAULT_IDS, created["id"]]
    read = await api.get(f"{path}/{created['id']}", headers=owner.headers)
    assert read.status_code == 200 and read.json() == created
    stored = await _stored_checks(stores, services, campaign_id)
    assert stored[-1]["position"] == len(DEFAULT_IDS)
    assert (stored[-1]["org_id"], stored[-1]["campaign_id"]) == (owner.org_id, campaign_id)
    assert stored[-1]["definition"] == created

    changed = await api.patch(
        f"{path}/{created['id']}",
        headers=owner.headers,
        json={"weight": 0, "keywords": ["refund", "Refund", "policy"], "speaker": "any"},
    )

    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        **created,
        "weight": 0.0,
        "keywords": ["refund", "policy"],
        "speaker": "ANY",
    }
    assert (await api.get(f"{path}/{created['id']}", headers=owner.headers)).json() == (
        changed.json()
    )
    message = await _grpc_campaign(directory_rpc, owner.org_id, campaign_id)
    [sent] = [check for check in message.checks if check.id == created["id"]]
    assert sent.name == "Refund policy" and sent.weight == 0.0 and sent.critical
    assert sent.answer_type == directory_pb2.CHECK_ANSWER_TYPE_YES_NO_NOT_APPLICABLE
    assert list(sent.keywords) == ["refund", "policy"]
    assert list(sent.applies_when) == ["refund", "money back"]
    assert list(sent.phrases) == ["within fourteen days", "full refund"]
    assert sent.speaker == common_pb2.SPEAKER_ANY
    assert sent.window == directory_pb2.CHECK_WINDOW_ANYWHERE

    deleted = await api.delete(f"{path}/empathy", headers=owner.headers)

    assert deleted.status_code == 204, deleted.text
    gone = await api.get(f"{path}/empathy", headers=owner.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    remaining = [check_id for check_id in DEFAULT_IDS if check_id != "empathy"]
    assert await _ids(api, owner.headers, campaign_id) == [*remaining, created["id"]]
    assert [
        row["definition"]["id"] for row in await _stored_checks(stores, services, campaign_id)
    ] == [
        *remaining,
        created["id"],
    ]
    after = await _grpc_campaign(directory_rpc, owner.org_id, campaign_id)
    assert [check.id for check in after.checks] == [*remaining, created["id"]]
    again = await api.delete(f"{path}/empathy", headers=owner.headers)
    assert again.status_code == 404
    other_campaign = await _ids(api, owner.headers, services.credentials["campaign_id"])
    assert other_campaign == DEFAULT_IDS


async def test_a_new_check_gets_the_defaults_for_what_is_left_out(
    api: httpx.AsyncClient, owner: Person
) -> None:
    campaign_id = await _campaign(api, owner, "Check defaults")

    created = await _add(
        api, owner, campaign_id, name="Upsell", question="Did the agent offer an upgrade?", weight=5
    )

    assert {key: value for key, value in created.items() if key != "id"} == {
        "name": "Upsell",
        "question": "Did the agent offer an upgrade?",
        "category": "General",
        "weight": 5.0,
        "critical": False,
        "speaker": "AGENT",
        "phrases": [],
        "window": "ANYWHERE",
        "answer_type": "YES_NO",
        "keywords": [],
        "applies_when": [],
    }


async def test_checks_are_put_in_a_new_order_that_names_each_once(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    directory_rpc: directory_pb2_grpc.DirectoryStub,
) -> None:
    campaign_id = await _campaign(api, owner, "Check order")
    added = await _add(
        api, owner, campaign_id, name="Upsell", question="Upgrade offered?", weight=5
    )
    path = f"{_checks_path(campaign_id)}/order"
    new_order = [added["id"], *DEFAULT_IDS[::-1]]

    response = await api.put(path, headers=owner.headers, json={"check_ids": new_order})

    assert response.status_code == 200, response.text
    assert [check["id"] for check in response.json()["checks"]] == new_order
    assert response.json()["checks"][0] == added
    assert await _ids(api, owner.headers, campaign_id) == new_order
    stored = await _stored_checks(stores, services, campaign_id)
    assert [row["definition"]["id"] for row in stored] == new_order
    message = await _grpc_campaign(directory_rpc, owner.org_id, campaign_id)
    assert [check.id for check in message.checks] == new_order
    appended = await _add(api, owner, campaign_id, name="Last", question="Last?", weight=1)
    assert await _ids(api, owner.headers, campaign_id) == [*new_order, appended["id"]]
    everything = [*new_order, appended["id"]]

    for check_ids, words in (
        (everything[:-1], f"missing: {appended['id']}"),
        ([*everything, everything[0]], f"repeated: {everything[0]}"),
        ([*everything[:-1], "chk_000000000000"], "not checks of the campaign: chk_000000000000"),
        ([], "missing:"),
    ):
        refused = await api.put(path, headers=owner.headers, json={"check_ids": check_ids})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "invalid_field"
        assert refused.json()["error"]["message"].startswith("check_ids: send every check id")
        assert words in refused.json()["error"]["message"]
    for body in ({}, {"check_ids": "all"}, {"check_ids": everything, "extra": 1}):
        refused = await api.put(path, headers=owner.headers, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "invalid_request"
    assert await _ids(api, owner.headers, campaign_id) == everything


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"weight": 101}, "invalid_field", "weight: a number from 0 to 100"),
        ({"weight": -1}, "invalid_field", "weight: a number from 0 to 100"),
        ({"name": "   "}, "invalid_field", "name: 1 to 100 characters"),
        ({"question": "q" * 501}, "invalid_field", "question: 1 to 500 characters"),
        ({"category": "c" * 61}, "invalid_field", "category: at most 60 characters"),
        ({"speaker": "caller"}, "invalid_field", "speaker: one of AGENT, CUSTOMER, ANY"),
        ({"window": "middle"}, "invalid_field", "window: one of ANYWHERE, OPENING, CLOSING"),
        ({"phrases": ["p"] * 0 + [f"p{n}" for n in range(31)]}, "invalid_field", "at most 30"),
        ({"keywords": ["two words"]}, "invalid_field", "keywords: each keyword is a single word"),
        (
            {"applies_when": ["refund"]},
            "invalid_field",
            "applies_when: only a check whose answer_type is YES_NO_NOT_APPLICABLE",
        ),
        ({"name": "GREETING"}, "invalid_field", 'already has a check named "Greeting"'),
        ({"weight": "10"}, "invalid_request", "body.weight"),
        ({"critical": "yes"}, "invalid_request", "body.critical"),
        ({"phrases": None}, "invalid_request", "body.phrases"),
        ({"id": "greeting"}, "invalid_request", "body.id"),
        ({"position": 0}, "invalid_request", "body.position"),
    ],
)
async def test_an_invalid_new_check_is_refused_with_its_reason_and_nothing_is_stored(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    fields: dict[str, Any],
    code: str,
    message: str,
) -> None:
    campaign_id = services.credentials["campaign_id"]
    before = await _stored_checks(stores, services, campaign_id)
    body = {"name": "Valid name", "question": "A valid question?", "weight": 10, **fields}

    response = await api.post(_checks_path(campaign_id), headers=owner.headers, json=body)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert set(response.json()) == {"error"} and set(error) == {"code", "message"}
    assert error["code"] == code
    assert message in error["message"]
    assert await _stored_checks(stores, services, campaign_id) == before


async def test_missing_fields_and_several_problems_are_all_named(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    path = _checks_path(services.credentials["campaign_id"])

    missing = await api.post(path, headers=owner.headers, json={"name": "Only a name"})
    several = await api.post(
        path, headers=owner.headers, json={"name": "", "question": "Ok?", "weight": 300}
    )

    assert missing.status_code == 422
    assert "body.question" in missing.json()["error"]["message"]
    assert "body.weight" in missing.json()["error"]["message"]
    assert several.status_code == 422
    assert several.json()["error"] == {
        "code": "invalid_field",
        "message": "name: 1 to 100 characters: the check's short title; "
        "weight: a number from 0 to 100 (0: shown but not counted in the score)",
    }


async def test_a_change_is_checked_as_a_whole_and_a_refused_one_changes_nothing(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    campaign_id = await _campaign(api, owner, "Check changes")
    path = _checks_path(campaign_id)
    optional = await _add(
        api,
        owner,
        campaign_id,
        name="Cancellation offer",
        question="Did the agent offer to pause instead of cancel?",
        weight=10,
        answer_type="YES_NO_NOT_APPLICABLE",
        applies_when=["cancel"],
    )
    before = await _stored_checks(stores, services, campaign_id)

    for check_id, body, code, words in (
        ("greeting", {"applies_when": ["complaint"]}, "invalid_field", "applies_when: only"),
        (optional["id"], {"answer_type": "YES_NO"}, "invalid_field", "applies_when: only"),
        ("greeting", {"name": "proper CLOSING"}, "invalid_field", 'named "Proper closing"'),
        ("greeting", {"weight": 100.5}, "invalid_field", "weight: a number from 0 to 100"),
        ("greeting", {}, "invalid_field", "send at least one of name, question"),
        ("greeting", {"weight": None}, "invalid_request", "body.weight: Value error, may not"),
        ("greeting", {"id": "hello"}, "invalid_request", "body.id"),
    ):
        response = await api.patch(f"{path}/{check_id}", headers=owner.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == code
        assert words in response.json()["error"]["message"], response.text
    assert await _stored_checks(stores, services, campaign_id) == before

    cleared = await api.patch(
        f"{path}/{optional['id']}",
        headers=owner.headers,
        json={"answer_type": "yes_no", "applies_when": []},
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["answer_type"], cleared.json()["applies_when"]) == ("YES_NO", [])
    renamed = await api.patch(f"{path}/greeting", headers=owner.headers, json={"name": "GREETING"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "GREETING"
    missing = await api.patch(f"{path}/chk_000000000000", headers=owner.headers, json={"weight": 1})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_a_campaign_holds_at_most_fifty_checks(api: httpx.AsyncClient, owner: Person) -> None:
    campaign_id = await _campaign(api, owner, "Fifty checks")
    for number in range(50 - len(DEFAULT_IDS)):
        await _add(api, owner, campaign_id, name=f"Check {number}", question="Ok?", weight=1)

    refused = await api.post(
        _checks_path(campaign_id),
        headers=owner.headers,
        json={"name": "One too many", "question": "Ok?", "weight": 1},
    )

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == {
        "code": "invalid_field",
        "message": "a campaign has at most 50 checks; delete one before adding another",
    }
    assert len(await _ids(api, owner.headers, campaign_id)) == 50
    assert (
        await api.delete(f"{_checks_path(campaign_id)}/greeting", headers=owner.headers)
    ).status_code == 204
    await _add(api, owner, campaign_id, name="One too many", question="Ok?", weight=1)


async def test_concurrent_additions_keep_names_unique_and_every_check(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    campaign_id = await _campaign(api, owner, "Concurrent edits")
    path = _checks_path(campaign_id)

    async def add(name: str) -> httpx.Response:
        body = {"name": name, "question": "Ok?", "weight": 1}
        return await api.post(path, headers=owner.headers, json=body)

    same = await asyncio.gather(*(add("Same name") for _ in range(8)))
    distinct = await asyncio.gather(*(add(f"Distinct {n}") for n in range(8)))

    assert sorted(response.status_code for response in same) == [201] + [422] * 7
    assert all(response.status_code == 201 for response in distinct), [
        response.text for response in distinct
    ]
    stored = await _stored_checks(stores, services, campaign_id)
    names = [row["definition"]["name"] for row in stored]
    assert names.count("Same name") == 1
    assert {f"Distinct {n}" for n in range(8)} <= set(names)
    assert len(stored) == len(DEFAULT_IDS) + 9
    positions = [row["position"] for row in stored]
    assert len(set(positions)) == len(positions)
    assert await stores.count("checks_locks", {"_id": campaign_id}) == 0


@pytest.mark.parametrize("role", ["MANAGER", "COMPLIANCE_OFFICER", "AGENT"])
async def test_other_roles_read_checks_but_only_senior_roles_change_them(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    directory: MongoDirectory,
    owner: Person,
    role: str,
) -> None:
    campaign_id = await _campaign(api, owner, f"Checks guarded from {role}")
    path = _checks_path(campaign_id)
    person = await person_seeing(api, directory, owner.org_id, role, campaign_id)
    before = await _stored_checks(stores, services, campaign_id)

    listed = await api.get(path, headers=person.headers)
    read = await api.get(f"{path}/greeting", headers=person.headers)
    refused = [
        await api.post(
            path, headers=person.headers, json={"name": "Mine", "question": "Ok?", "weight": 1}
        ),
        await api.patch(f"{path}/greeting", headers=person.headers, json={"weight": 1}),
        await api.delete(f"{path}/greeting", headers=person.headers),
        await api.put(
            f"{path}/order", headers=person.headers, json={"check_ids": DEFAULT_IDS[::-1]}
        ),
    ]

    assert listed.status_code == 200 and [c["id"] for c in listed.json()["checks"]] == DEFAULT_IDS
    assert read.status_code == 200 and read.json()["id"] == "greeting"
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    assert await _stored_checks(stores, services, campaign_id) == before

    senior = await new_person(api, directory, owner.org_id, "SENIOR_MANAGER")
    added = await _add(api, senior, campaign_id, name="Mine", question="Ok?", weight=1)
    changed = await api.patch(f"{path}/greeting", headers=senior.headers, json={"weight": 1})
    assert changed.status_code == 200 and changed.json()["weight"] == 1.0
    order = [added["id"], *DEFAULT_IDS]
    moved = await api.put(f"{path}/order", headers=senior.headers, json={"check_ids": order})
    assert moved.status_code == 200, moved.text
    assert (await api.delete(f"{path}/{added['id']}", headers=senior.headers)).status_code == 204


async def test_another_organisations_campaigns_and_checks_do_not_exist(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    other: OtherOrganisation,
) -> None:
    ours = await _campaign(api, owner, "Ours, not theirs")
    mine = await _add(api, owner, ours, name="Ours", question="Ok?", weight=1)
    theirs = await _add(
        api, other.owner, other.campaign_id, name="Theirs", question="Ok?", weight=1
    )
    before = await _stored_checks(stores, services, ours)
    their_before = await _stored_checks(stores, services, other.campaign_id)
    body = {"name": "Intruder", "question": "Ok?", "weight": 1}

    for response in (
        await api.get(_checks_path(ours), headers=other.owner.headers),
        await api.get(f"{_checks_path(ours)}/{mine['id']}", headers=other.owner.headers),
        await api.get(f"{_checks_path(ours)}/greeting", headers=other.owner.headers),
        await api.post(_checks_path(ours), headers=other.owner.headers, json=body),
        await api.patch(
            f"{_checks_path(ours)}/greeting", headers=other.owner.headers, json={"weight": 1}
        ),
        await api.delete(f"{_checks_path(ours)}/{mine['id']}", headers=other.owner.headers),
        await api.put(
            f"{_checks_path(ours)}/order",
            headers=other.owner.headers,
            json={"check_ids": [mine["id"], *DEFAULT_IDS]},
        ),
        await api.get(_checks_path(ours), headers={"X-API-Key": other.api_key}),
        # Their check's id under our campaign, and our check's id under theirs.
        await api.get(f"{_checks_path(ours)}/{theirs['id']}", headers=owner.headers),
        await api.patch(
            f"{_checks_path(ours)}/{theirs['id']}", headers=owner.headers, json={"weight": 2}
        ),
        await api.delete(f"{_checks_path(ours)}/{theirs['id']}", headers=owner.headers),
        await api.get(f"{_checks_path(other.campaign_id)}/{mine['id']}", headers=owner.headers),
        await api.get(_checks_path(other.campaign_id), headers=owner.headers),
        await api.delete(f"{_checks_path(other.campaign_id)}/greeting", headers=owner.headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert await _stored_checks(stores, services, ours) == before
    assert await _stored_checks(stores, services, other.campaign_id) == their_before


async def test_an_api_key_reads_only_its_own_campaigns_checks_and_changes_none(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, owner: Person
) -> None:
    campaign_id = await _campaign(api, owner, "Key scoped checks")
    issued = await api.post(f"/api/v1/campaigns/{campaign_id}/api-keys", headers=owner.headers)
    assert issued.status_code == 201, issued.text
    key = {"X-API-Key": issued.json()["key"]}
    before = await _stored_checks(stores, services, campaign_id)

    assert await _ids(api, key, campaign_id) == DEFAULT_IDS
    read = await api.get(f"{_checks_path(campaign_id)}/greeting", headers=key)
    assert read.status_code == 200 and read.json()["id"] == "greeting"
    elsewhere = services.credentials["campaign_id"]
    for response in (
        await api.get(_checks_path(elsewhere), headers=key),
        await api.get(f"{_checks_path(elsewhere)}/greeting", headers=key),
    ):
        assert response.status_code == 404, response.text
    for response in (
        await api.post(
            _checks_path(campaign_id),
            headers=key,
            json={"name": "K", "question": "Ok?", "weight": 1},
        ),
        await api.patch(f"{_checks_path(campaign_id)}/greeting", headers=key, json={"weight": 1}),
        await api.delete(f"{_checks_path(campaign_id)}/greeting", headers=key),
        await api.put(
            f"{_checks_path(campaign_id)}/order", headers=key, json={"check_ids": DEFAULT_IDS}
        ),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    assert await _stored_checks(stores, services, campaign_id) == before


async def test_the_evaluator_and_claude_model_round_trip_through_the_api_store_and_grpc(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    directory_rpc: directory_pb2_grpc.DirectoryStub,
) -> None:
    plain_id = await _campaign(api, owner, "Evaluated locally")
    plain = (await api.get(f"/api/v1/campaigns/{plain_id}", headers=owner.headers)).json()
    assert (plain["evaluator"], plain["claude_model"]) == ("local", "")
    message = await _grpc_campaign(directory_rpc, owner.org_id, plain_id)
    assert (message.evaluator, message.claude_model) == (directory_pb2.EVALUATOR_LOCAL, "")

    campaign_id = await _campaign(
        api, owner, "Evaluated by Claude", evaluator="claude", claude_model=" claude-sonnet-4-5 "
    )
    path = f"/api/v1/campaigns/{campaign_id}"
    read = (await api.get(path, headers=owner.headers)).json()
    assert (read["evaluator"], read["claude_model"]) == ("claude", "claude-sonnet-4-5")
    message = await _grpc_campaign(directory_rpc, owner.org_id, campaign_id)
    assert message.evaluator == directory_pb2.EVALUATOR_CLAUDE
    assert message.claude_model == "claude-sonnet-4-5"

    changed = await api.patch(
        path, headers=owner.headers, json={"claude_model": "claude-3-5-haiku-20241022"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["evaluator"], changed.json()["claude_model"]) == (
        "claude",
        "claude-3-5-haiku-20241022",
    )
    listed = (await api.get("/api/v1/campaigns", headers=owner.headers)).json()["campaigns"]
    [summary] = [campaign for campaign in listed if campaign["id"] == campaign_id]
    assert (summary["evaluator"], summary["claude_model"]) == (
        "claude",
        "claude-3-5-haiku-20241022",
    )
    stored = await stores.mongo[services.database]["campaigns"].find_one({"_id": campaign_id})
    assert stored is not None
    assert (stored["evaluator"], stored["claude_model"]) == ("claude", "claude-3-5-haiku-20241022")

    back = await api.patch(
        path, headers=owner.headers, json={"evaluator": "local", "claude_model": ""}
    )
    assert back.status_code == 200, back.text
    message = await _grpc_campaign(directory_rpc, owner.org_id, campaign_id)
    assert (message.evaluator, message.claude_model) == (directory_pb2.EVALUATOR_LOCAL, "")


async def test_a_campaign_stored_before_the_evaluator_existed_is_evaluated_locally(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    directory_rpc: directory_pb2_grpc.DirectoryStub,
) -> None:
    campaign_id = await _campaign(
        api, owner, "Legacy evaluator", evaluator="claude", claude_model="claude-sonnet-4-5"
    )
    await stores.mongo[services.database]["campaigns"].update_one(
        {"_id": campaign_id}, {"$unset": {"evaluator": "", "claude_model": ""}}
    )

    read = await api.get(f"/api/v1/campaigns/{campaign_id}", headers=owner.headers)

    assert read.status_code == 200, read.text
    assert (read.json()["evaluator"], read.json()["claude_model"]) == ("local", "")
    message = await _grpc_campaign(directory_rpc, owner.org_id, campaign_id)
    assert (message.evaluator, message.claude_model) == (directory_pb2.EVALUATOR_LOCAL, "")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"evaluator": "gpt"}, "evaluator"),
        ({"evaluator": "CLAUDE"}, "evaluator"),
        ({"evaluator": None}, "evaluator"),
        ({"claude_model": "Claude Sonnet"}, "claude_model"),
        ({"claude_model": "-claude"}, "claude_model"),
        ({"claude_model": "c" * 101}, "claude_model"),
        ({"claude_model": None}, "claude_model"),
        ({"claude_model": 4}, "claude_model"),
    ],
)
async def test_bad_evaluation_settings_are_refused_naming_the_field_and_change_nothing(
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    payload: dict[str, Any],
    field: str,
) -> None:
    campaign_id = services.credentials["campaign_id"]
    campaigns = stores.mongo[services.database]["campaigns"]
    before = await campaigns.find_one({"_id": campaign_id})

    changed = await api.patch(
        f"/api/v1/campaigns/{campaign_id}", headers=owner.headers, json=payload
    )
    created = await api.post(
        "/api/v1/campaigns", headers=owner.headers, json={"name": "Never made", **payload}
    )

    for response in (changed, created):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_request"
        assert f"body.{field}" in response.json()["error"]["message"]
    assert await campaigns.find_one({"_id": campaign_id}) == before
    assert await stores.count("campaigns", {"name": "Never made"}) == 0


@pytest.mark.parametrize("role", ["MANAGER", "COMPLIANCE_OFFICER"])
async def test_only_senior_roles_choose_the_evaluator(
    api: httpx.AsyncClient, directory: MongoDirectory, owner: Person, role: str
) -> None:
    campaign_id = await _campaign(api, owner, f"Evaluator guarded from {role}")
    path = f"/api/v1/campaigns/{campaign_id}"
    person = await person_seeing(api, directory, owner.org_id, role, campaign_id)

    refused = await api.patch(path, headers=person.headers, json={"evaluator": "claude"})

    assert refused.status_code == 403, refused.text
    read = await api.get(path, headers=person.headers)
    assert read.status_code == 200 and read.json()["evaluator"] == "local"
