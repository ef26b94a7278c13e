"""Organisations, users and logins for access tests, written straight into the gateway's directory.

There is no sign-up endpoint, so a second organisation and users of every role
are created through `MongoDirectory` on the run's database, as an operator would.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.adapters.passwords import hash_password
from callscope_gateway.domain.api_keys import generate_api_key
from callscope_gateway.domain.default_checks import DEFAULT_CHECKS

from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


@dataclass(frozen=True)
class Person:
    """A user who has logged in: headers carry the session's bearer token."""

    user_id: str
    org_id: str
    email: str
    password: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization for this user's session."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class OtherOrganisation:
    """A second organisation with a campaign, its API key and an owner."""

    org_id: str
    campaign_id: str
    api_key: str
    owner: Person


def directory_of(stores: StoreInspector, services: RunningServices) -> MongoDirectory:
    """The gateway's directory in this run's database."""
    return MongoDirectory(stores.mongo[services.database])


async def login(api: httpx.AsyncClient, email: str, password: str) -> str:
    """Logs in through the API and returns the session token."""
    response = await api.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def new_person(
    api: httpx.AsyncClient,
    directory: MongoDirectory,
    org_id: str,
    role: str,
    *,
    campaign_ids: Sequence[str] = (),
    agent_id: str = "",
) -> Person:
    """A user of the organisation with this role, created in the directory and logged in.

    A Manager sees only campaign_ids' campaigns; an Agent only the calls of agent_id.
    """
    email = f"{role.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    password = secrets.token_urlsafe(12)
    user_id = await directory.create_user(
        org_id,
        email,
        hash_password(password),
        role,
        campaign_ids=campaign_ids,
        agent_id=agent_id,
    )
    token = await login(api, email, password)
    return Person(user_id, org_id, email, password, role, token)


async def demo_owner(api: httpx.AsyncClient, services: RunningServices) -> Person:
    """The demo organisation's owner (credentials from the gateway's demo file), logged in."""
    credentials = services.credentials
    response = await api.post(
        "/api/v1/auth/login",
        json={"email": credentials["email"], "password": credentials["password"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Person(
        body["user"]["id"],
        credentials["org_id"],
        credentials["email"],
        credentials["password"],
        "OWNER",
        body["token"],
    )


async def other_organisation(
    api: httpx.AsyncClient, directory: MongoDirectory
) -> OtherOrganisation:
    """A fresh organisation with one campaign, a key for it and a logged-in owner."""
    suffix = uuid.uuid4().hex[:8]
    org_id = await directory.create_org(f"Other {suffix}", f"other-{suffix}")
    campaign_id = await directory.create_campaign(org_id, "Elsewhere", 70.0, DEFAULT_CHECKS)
    key = generate_api_key()
    await directory.store_api_key(org_id, campaign_id, key)
    owner = await new_person(api, directory, org_id, "OWNER")
    return OtherOrganisation(org_id, campaign_id, key.raw, owner)


async def person_seeing(
    api: httpx.AsyncClient, directory: MongoDirectory, org_id: str, role: str, campaign_id: str
) -> Person:
    """A user of this role whose scope includes the campaign: a Manager assigned to it, an
    Agent linked to a new agent profile working on it (other roles see every campaign)."""
    if role == "MANAGER":
        return await new_person(api, directory, org_id, role, campaign_ids=[campaign_id])
    if role == "AGENT":
        code = f"SEE{uuid.uuid4().hex[:6].upper()}"
        agent = await directory.create_agent(org_id, f"Agent {code}", code, (campaign_id,))
        return await new_person(api, directory, org_id, role, agent_id=agent.id)
    return await new_person(api, directory, org_id, role)
