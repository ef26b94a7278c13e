"""The directory in MongoDB: orgs, users, campaigns, checks and api_keys (owned by the gateway)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from callscope_gateway.domain.api_keys import ApiKeyScope, NewApiKey
from callscope_gateway.domain.default_checks import CheckDefinition
from callscope_gateway.domain.directory import Campaign

Document = dict[str, Any]


def _new_id() -> str:
    return uuid.uuid4().hex


class MongoDirectory:
    """Reads and writes the directory's collections."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._orgs = database["orgs"]
        self._users = database["users"]
        self._campaigns = database["campaigns"]
        self._checks = database["checks"]
        self._api_keys = database["api_keys"]

    async def ensure_indexes(self) -> None:
        """Unique keys that make lookups fast and duplicates impossible."""
        await self._orgs.create_index("slug", unique=True)
        await self._users.create_index("email", unique=True)
        await self._api_keys.create_index("hash", unique=True)
        await self._checks.create_index([("campaign_id", 1), ("position", 1)])

    async def find_org_by_slug(self, slug: str) -> str | None:
        """The id of the organisation with this slug."""
        document = await self._orgs.find_one({"slug": slug}, {"_id": 1})
        return str(document["_id"]) if document else None

    async def create_org(self, name: str, slug: str) -> str:
        """A new organisation."""
        org_id = _new_id()
        await self._orgs.insert_one(
            {"_id": org_id, "name": name, "slug": slug, "created_at": dt.datetime.now(dt.UTC)}
        )
        return org_id

    async def create_user(self, org_id: str, email: str, password_hash: str, role: str) -> str:
        """A new user of an organisation."""
        user_id = _new_id()
        await self._users.insert_one(
            {
                "_id": user_id,
                "org_id": org_id,
                "email": email.lower(),
                "password_hash": password_hash,
                "role": role,
                "created_at": dt.datetime.now(dt.UTC),
            }
        )
        return user_id

    async def set_user_password(self, email: str, password_hash: str) -> None:
        """Replaces a user's password hash."""
        await self._users.update_one(
            {"email": email.lower()}, {"$set": {"password_hash": password_hash}}
        )

    async def create_campaign(
        self,
        org_id: str,
        name: str,
        flag_threshold: float,
        checks: tuple[CheckDefinition, ...],
    ) -> str:
        """A new campaign with its checks."""
        campaign_id = _new_id()
        now = dt.datetime.now(dt.UTC)
        await self._campaigns.insert_one(
            {
                "_id": campaign_id,
                "org_id": org_id,
                "name": name,
                "flag_threshold": flag_threshold,
                "auto_processing": True,
                "created_at": now,
            }
        )
        if checks:
            await self._checks.insert_many(
                [
                    {
                        "_id": _new_id(),
                        "org_id": org_id,
                        "campaign_id": campaign_id,
                        "position": position,
                        "definition": dataclasses.asdict(check),
                        "created_at": now,
                    }
                    for position, check in enumerate(checks)
                ]
            )
        return campaign_id

    async def set_auto_processing(self, org_id: str, campaign_id: str, enabled: bool) -> None:
        """Turns a campaign's auto-processing on or off."""
        await self._campaigns.update_one(
            {"_id": campaign_id, "org_id": org_id}, {"$set": {"auto_processing": enabled}}
        )

    async def find_campaign_by_name(self, org_id: str, name: str) -> str | None:
        """The id of an organisation's campaign with this name."""
        document = await self._campaigns.find_one({"org_id": org_id, "name": name}, {"_id": 1})
        return str(document["_id"]) if document else None

    async def get_campaign(self, org_id: str, campaign_id: str) -> Campaign | None:
        """A campaign of this organisation, with its checks in order."""
        document = await self._campaigns.find_one({"_id": campaign_id, "org_id": org_id})
        if document is None:
            return None
        checks = [
            _check(row["definition"])
            async for row in self._checks.find({"campaign_id": campaign_id}).sort("position", 1)
        ]
        return Campaign(
            id=campaign_id,
            org_id=org_id,
            name=document["name"],
            flag_threshold=float(document["flag_threshold"]),
            auto_processing=bool(document.get("auto_processing", True)),
            checks=tuple(checks),
        )

    async def store_api_key(self, org_id: str, campaign_id: str, key: NewApiKey) -> str:
        """Keeps a new key's hash (never the key itself)."""
        key_id = _new_id()
        await self._api_keys.insert_one(
            {
                "_id": key_id,
                "org_id": org_id,
                "campaign_id": campaign_id,
                "hash": key.hash,
                "display_prefix": key.display_prefix,
                "created_at": dt.datetime.now(dt.UTC),
                "revoked_at": None,
                "last_used_at": None,
            }
        )
        return key_id

    async def resolve_api_key(self, key_hash: str, at: dt.datetime) -> ApiKeyScope | None:
        """The scope of an unrevoked key with this hash, recording its use."""
        document = await self._api_keys.find_one_and_update(
            {"hash": key_hash, "revoked_at": None}, {"$set": {"last_used_at": at}}
        )
        if document is None:
            return None
        return ApiKeyScope(
            key_id=str(document["_id"]),
            org_id=document["org_id"],
            campaign_id=document["campaign_id"],
        )


def _check(definition: Document) -> CheckDefinition:
    return CheckDefinition(**{**definition, "phrases": tuple(definition.get("phrases", ()))})
