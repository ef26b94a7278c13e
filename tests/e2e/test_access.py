"""Logins, sessions and users: who may sign in, for how long, and who may add people."""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory

from tests.support.people import (
    Person,
    login,
    new_person,
    other_organisation,
)
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def test_login_opens_a_session_stored_only_as_a_hash(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    credentials = services.credentials
    before = dt.datetime.now(dt.UTC)
    response = await api.post(
        "/api/v1/auth/login",
        json={"email": credentials["email"].upper(), "password": credentials["password"]},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["email"] == credentials["email"]
    assert body["user"]["role"] == "OWNER"
    assert body["user"]["org_id"] == credentials["org_id"]
    assert set(body["user"]) == {"id", "email", "role", "org_id"}
    token = body["token"]
    assert len(token) == 43 and body["token_type"] == "Bearer"
    sessions = stores.mongo[services.database]["sessions"]
    stored = await sessions.find_one({"_id": _sha256(token)})
    assert stored is not None
    assert stored["user_id"] == body["user"]["id"]
    assert stored["org_id"] == credentials["org_id"]
    assert await sessions.count_documents({"_id": token}) == 0
    lifetime = stored["expires_at"] - stored["created_at"]
    assert lifetime == dt.timedelta(hours=12)  # GATEWAY_SESSION_TTL_S default
    expires_at = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert before + dt.timedelta(hours=12) - dt.timedelta(seconds=5) < expires_at
    assert expires_at < dt.datetime.now(dt.UTC) + dt.timedelta(hours=12, seconds=5)

    me = await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["user"] == body["user"]
    assert me.json()["expires_at"] == body["expires_at"]


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    api: httpx.AsyncClient, services: RunningServices
) -> None:
    wrong_password = await api.post(
        "/api/v1/auth/login",
        json={"email": services.credentials["email"], "password": "not the password at all"},
    )
    unknown_email = await api.post(
        "/api/v1/auth/login",
        json={"email": "nobody@example.com", "password": "not the password at all"},
    )

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["error"]["code"] == "invalid_credentials"
    assert "token" not in wrong_password.json()


async def test_logout_ends_the_session(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    token = await login(api, services.credentials["email"], services.credentials["password"])
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/api/v1/campaigns", headers=headers)).status_code == 200

    response = await api.post("/api/v1/auth/logout", headers=headers)

    assert response.status_code == 204
    assert await stores.count("sessions", {"_id": _sha256(token)}) == 0
    after = await api.get("/api/v1/campaigns", headers=headers)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "not_authenticated"
    assert after.headers["WWW-Authenticate"] == "Bearer"


async def test_an_expired_session_is_refused(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    token = await login(api, services.credentials["email"], services.credentials["password"])
    headers = {"Authorization": f"Bearer {token}"}
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await stores.mongo[services.database]["sessions"].update_one(
        {"_id": _sha256(token)}, {"$set": {"expires_at": past}}
    )

    for path in ("/api/v1/campaigns", "/api/v1/auth/me"):
        response = await api.get(path, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-real-session-token-000000000000"},
        {"Authorization": "Basic b3duZXI6c2VjcmV0"},
        {"Authorization": "Bearer"},
    ],
)
async def test_requests_without_a_valid_session_or_key_are_refused(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await api.get("/api/v1/campaigns", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_a_key_and_a_session_together_are_refused(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    response = await api.get(
        "/api/v1/campaigns", headers={**owner.headers, "X-API-Key": services.api_key}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


async def test_the_role_is_read_from_the_user_on_every_request(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    stores: StoreInspector,
) -> None:
    person = await new_person(api, directory, services.credentials["org_id"], "SENIOR_MANAGER")
    path = f"/api/v1/campaigns/{services.credentials['campaign_id']}/api-keys"
    assert (await api.get(path, headers=person.headers)).status_code == 200

    # An operator changes the role in the database; the open session follows at once.
    users = stores.mongo[services.database]["users"]
    await users.update_one({"_id": person.user_id}, {"$set": {"role": "MANAGER"}})

    demoted = await api.get(path, headers=person.headers)
    assert demoted.status_code == 403
    assert demoted.json()["error"]["code"] == "forbidden"
    me = await api.get("/api/v1/auth/me", headers=person.headers)
    assert me.json()["user"]["role"] == "MANAGER"

    await users.delete_one({"_id": person.user_id})
    gone = await api.get("/api/v1/auth/me", headers=person.headers)
    assert gone.status_code == 401


async def test_an_owner_adds_a_user_who_can_then_log_in(
    api: httpx.AsyncClient, owner: Person, stores: StoreInspector, services: RunningServices
) -> None:
    email = "New.Manager@Example.com"
    password = "correct horse battery"
    response = await api.post(
        "/api/v1/users",
        headers=owner.headers,
        json={"email": email, "password": password, "role": "MANAGER"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "email": "new.manager@example.com",
        "role": "MANAGER",
        "org_id": owner.org_id,
        "campaign_ids": [],
        "agent_id": None,
        "disabled": False,
        "created_at": body["created_at"],
    }
    stored = await stores.mongo[services.database]["users"].find_one({"_id": body["id"]})
    assert stored is not None
    assert stored["org_id"] == owner.org_id and stored["role"] == "MANAGER"
    assert stored["password_hash"].startswith("$argon2id$")
    assert password not in str(stored)
    token = await login(api, email.lower(), password)
    me = await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["user"]["id"] == body["id"]

    again = await api.post(
        "/api/v1/users",
        headers=owner.headers,
        json={"email": "new.manager@EXAMPLE.com", "password": password, "role": "AGENT"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"
    assert await stores.count("users", {"email": "new.manager@example.com"}) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "x@example.com", "password": "short", "role": "AGENT"}, "password"),
        ({"email": "not-an-email", "password": "long enough pass", "role": "AGENT"}, "email"),
        ({"email": "x@example.com", "password": "long enough pass", "role": "API_KEY"}, "role"),
        ({"email": "x@example.com", "password": "long enough pass", "role": "ADMIN"}, "role"),
        ({"email": "x@example.com", "password": "long enough pass"}, "role"),
    ],
)
async def test_invalid_users_are_refused_naming_the_field(
    api: httpx.AsyncClient,
    owner: Person,
    stores: StoreInspector,
    payload: dict[str, str],
    field: str,
) -> None:
    response = await api.post("/api/v1/users", headers=owner.headers, json=payload)
    assert response.status_code == 422, response.text
    assert f"body.{field}" in response.json()["error"]["message"]
    assert await stores.count("users", {"email": "x@example.com"}) == 0


@pytest.mark.parametrize("role", ["SENIOR_MANAGER", "MANAGER", "COMPLIANCE_OFFICER", "AGENT"])
async def test_only_owners_add_users(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    stores: StoreInspector,
    role: str,
) -> None:
    person = await new_person(api, directory, services.credentials["org_id"], role)
    email = f"made-by-{role.lower()}@example.com"
    response = await api.post(
        "/api/v1/users",
        headers=person.headers,
        json={"email": email, "password": "long enough pass", "role": "OWNER"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert await stores.count("users", {"email": email}) == 0


async def test_an_api_key_cannot_add_users_and_a_user_lands_in_the_owners_org(
    api: httpx.AsyncClient,
    services: RunningServices,
    directory: MongoDirectory,
    stores: StoreInspector,
) -> None:
    by_key = await api.post(
        "/api/v1/users",
        headers={"X-API-Key": services.api_key},
        json={"email": "by-key@example.com", "password": "long enough pass", "role": "OWNER"},
    )
    assert by_key.status_code == 403

    other = await other_organisation(api, directory)
    created = await api.post(
        "/api/v1/users",
        headers=other.owner.headers,
        json={"email": "theirs@example.com", "password": "long enough pass", "role": "OWNER"},
    )
    assert created.status_code == 201
    stored = await stores.mongo[services.database]["users"].find_one(
        {"email": "theirs@example.com"}
    )
    assert stored is not None and stored["org_id"] == other.org_id
