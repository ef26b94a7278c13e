"""The directory in MongoDB: orgs, users, campaigns, checks, api_keys and agents (the gateway's)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from callscope_gateway.domain.access import Role
from callscope_gateway.domain.agents import Agent, agent_code_key
from callscope_gateway.domain.api_keys import ApiKeyRecord, ApiKeyScope, NewApiKey
from callscope_gateway.domain.campaign_settings import (
    DEFAULT_EVALUATION_SETTINGS,
    DEFAULT_TRANSCRIPTION_SETTINGS,
    AgentChannel,
    EvaluationSettings,
    Evaluator,
    OpeningParty,
    TranscriptionProvider,
    TranscriptionSettings,
)
from callscope_gateway.domain.default_checks import CheckDefinition
from callscope_gateway.domain.directory import Campaign, CampaignSummary, SftpCampaign
from callscope_gateway.domain.sftp_settings import (
    DEFAULT_SFTP_SETTINGS,
    CsvRequirement,
    SftpSettings,
    org_folder_for,
)
from callscope_gateway.domain.users import User, normalise_email

Document = dict[str, Any]

# An edit lock (a campaign's checks, an organisation's SFTP settings) older than this was
# left by a gateway that stopped mid-edit (an edit takes milliseconds), so the next editor
# takes it over.
CHECKS_LOCK_STALE_AFTER_S = 30.0
# How long an edit waits for another edit under the same lock to finish.
CHECKS_LOCK_WAIT_S = 10.0


class LockBusyError(Exception):
    """Another edit held the lock for longer than an edit waits."""


class ChecksBusyError(LockBusyError):
    """Another edit of the campaign's checks held the lock for longer than an edit waits."""


class SftpSettingsBusyError(LockBusyError):
    """Another change of the organisation's SFTP settings held the lock too long."""


class UsersBusyError(LockBusyError):
    """Another change of the organisation's users held the lock too long."""


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
        self._agents = database["agents"]
        self._checks_locks = database["checks_locks"]
        self._sftp_locks = database["sftp_locks"]
        self._users_locks = database["users_locks"]

    async def ensure_indexes(self) -> None:
        """Unique keys that make lookups fast and duplicates impossible."""
        await self._orgs.create_index("slug", unique=True)
        await self._users.create_index("email", unique=True)
        await self._users.create_index("org_id")
        await self._api_keys.create_index("hash", unique=True)
        await self._checks.create_index([("campaign_id", 1), ("position", 1)])
        await self._api_keys.create_index([("org_id", 1), ("campaign_id", 1)])
        await self._campaigns.create_index("org_id")
        # One agent per code in an organisation, whatever the case it was typed in.
        await self._agents.create_index([("org_id", 1), ("code_key", 1)], unique=True)
        await self._agents.create_index("campaign_ids")

    async def find_org_by_slug(self, slug: str) -> str | None:
        """The id of the organisation with this slug."""
        document = await self._orgs.find_one({"slug": slug}, {"_id": 1})
        return str(document["_id"]) if document else None

    async def create_org(self, name: str, slug: str) -> str:
        """A new organisation, with its folder on the SFTP server."""
        org_id = _new_id()
        await self._orgs.insert_one(
            {
                "_id": org_id,
                "name": name,
                "slug": slug,
                "sftp_folder": org_folder_for(org_id),
                "created_at": dt.datetime.now(dt.UTC),
            }
        )
        return org_id

    async def org_folder(self, org_id: str) -> str:
        """The organisation's folder at the root of the SFTP server."""
        return (await self.org_folders([org_id])).get(org_id, org_folder_for(org_id))

    async def org_folders(self, org_ids: Sequence[str]) -> dict[str, str]:
        """The SFTP folders of these organisations (those that exist), by org id.

        An organisation stored before folders existed gets its folder stored on first read,
        so that the name stays what it was even if the rule that derives it ever changes.
        """
        if not org_ids:
            return {}
        folders: dict[str, str] = {}
        cursor = self._orgs.find({"_id": {"$in": list(org_ids)}}, {"sftp_folder": 1})
        async for document in cursor:
            org_id = str(document["_id"])
            folder = document.get("sftp_folder")
            if not folder:
                folder = org_folder_for(org_id)
                await self._orgs.update_one(
                    {"_id": org_id, "sftp_folder": {"$exists": False}},
                    {"$set": {"sftp_folder": folder}},
                )
            folders[org_id] = str(folder)
        return folders

    async def create_user(
        self,
        org_id: str,
        email: str,
        password_hash: str,
        role: str,
        *,
        campaign_ids: Sequence[str] = (),
        agent_id: str = "",
    ) -> str:
        """A new user of an organisation (a Manager's campaigns, an Agent's agent profile)."""
        user_id = _new_id()
        await self._users.insert_one(
            {
                "_id": user_id,
                "org_id": org_id,
                "email": email.lower(),
                "password_hash": password_hash,
                "role": role,
                "campaign_ids": list(campaign_ids),
                "agent_id": agent_id,
                "disabled": False,
                "created_at": dt.datetime.now(dt.UTC),
            }
        )
        return user_id

    async def list_users(self, org_id: str) -> list[User]:
        """The organisation's users, oldest first."""
        cursor = self._users.find({"org_id": org_id}).sort([("created_at", 1), ("_id", 1)])
        return [_user(document) async for document in cursor]

    async def update_user(self, org_id: str, user_id: str, changes: Document) -> bool:
        """Sets some of a user's fields (call inside `editing_users`); False when none."""
        update = dict(changes)
        if "campaign_ids" in update:
            update["campaign_ids"] = list(update["campaign_ids"])
        result = await self._users.update_one({"_id": user_id, "org_id": org_id}, {"$set": update})
        return result.matched_count == 1

    async def delete_user(self, org_id: str, user_id: str) -> bool:
        """Removes a user (call inside `editing_users`); False when there is none."""
        result = await self._users.delete_one({"_id": user_id, "org_id": org_id})
        return result.deleted_count == 1

    @contextlib.asynccontextmanager
    async def editing_users(self, org_id: str) -> AsyncIterator[None]:
        """Holds the organisation's users lock, so that role changes run one at a time.

        "An organisation keeps an active owner" reads every owner and then writes: two
        owners demoting each other at once must not both pass. Conditional updates cannot
        guard that on FerretDB 1.x, so the read and the write run under a lock document
        `{_id: org_id}` in `users_locks`, like the checks' lock.
        """
        async with _exclusive(self._users_locks, org_id, UsersBusyError):
            yield

    async def find_user_by_email(self, email: str) -> tuple[User, str] | None:
        """The user with this login and their password hash."""
        document = await self._users.find_one({"email": normalise_email(email)})
        if document is None:
            return None
        return _user(document), str(document["password_hash"])

    async def get_user(self, user_id: str) -> User | None:
        """A user by id, as stored now (so a changed role counts at once)."""
        document = await self._users.find_one({"_id": user_id})
        return _user(document) if document is not None else None

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
        *,
        transcription: TranscriptionSettings = DEFAULT_TRANSCRIPTION_SETTINGS,
        evaluation: EvaluationSettings = DEFAULT_EVALUATION_SETTINGS,
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
                **transcription_fields(transcription),
                **evaluation_fields(evaluation),
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

    async def list_campaigns(
        self, org_id: str, campaign_id: str | None = None
    ) -> list[CampaignSummary]:
        """The organisation's campaigns by creation time (only campaign_id's when given)."""
        query: Document = {"org_id": org_id}
        if campaign_id is not None:
            query["_id"] = campaign_id
        return [
            _campaign_summary(document)
            async for document in self._campaigns.find(query).sort([("created_at", 1), ("_id", 1)])
        ]

    async def update_campaign(self, org_id: str, campaign_id: str, changes: Document) -> bool:
        """Sets some of a campaign's settings; False when the organisation has no such campaign."""
        result = await self._campaigns.update_one(
            {"_id": campaign_id, "org_id": org_id}, {"$set": changes}
        )
        return result.matched_count == 1

    async def existing_campaign_ids(self, org_id: str, campaign_ids: list[str]) -> set[str]:
        """Which of these ids are campaigns of the organisation."""
        if not campaign_ids:
            return set()
        cursor = self._campaigns.find({"_id": {"$in": campaign_ids}, "org_id": org_id}, {"_id": 1})
        return {str(document["_id"]) async for document in cursor}

    async def find_campaign_by_name(self, org_id: str, name: str) -> str | None:
        """The id of an organisation's campaign with this name."""
        document = await self._campaigns.find_one({"org_id": org_id, "name": name}, {"_id": 1})
        return str(document["_id"]) if document else None

    async def get_campaign(self, org_id: str, campaign_id: str) -> Campaign | None:
        """A campaign of this organisation, with its checks in order."""
        document = await self._campaigns.find_one({"_id": campaign_id, "org_id": org_id})
        if document is None:
            return None
        return Campaign(
            id=campaign_id,
            org_id=org_id,
            name=document["name"],
            flag_threshold=float(document["flag_threshold"]),
            auto_processing=bool(document.get("auto_processing", True)),
            checks=await self._checks_of(campaign_id),
            transcription=transcription_settings(document),
            evaluation=evaluation_settings(document),
            sftp=sftp_settings(document),
        )

    async def has_sftp_settings(self, org_id: str, campaign_id: str) -> bool:
        """Whether the campaign has SFTP settings stored (campaigns made before them have not)."""
        document = await self._campaigns.find_one(
            {"_id": campaign_id, "org_id": org_id}, {"sftp": 1}
        )
        return document is not None and isinstance(document.get("sftp"), dict)

    async def set_sftp_settings(
        self, org_id: str, campaign_id: str, settings: SftpSettings
    ) -> bool:
        """Stores a campaign's SFTP settings whole (call inside `editing_sftp`).

        False when the organisation has no such campaign.
        """
        result = await self._campaigns.update_one(
            {"_id": campaign_id, "org_id": org_id}, {"$set": {"sftp": sftp_fields(settings)}}
        )
        return result.matched_count == 1

    async def campaign_with_sftp_folder(
        self, org_id: str, folder_slug: str, *, other_than: str
    ) -> tuple[str, str] | None:
        """(id, name) of another campaign of the organisation with this folder slug."""
        document = await self._campaigns.find_one(
            {"org_id": org_id, "sftp.folder_slug": folder_slug, "_id": {"$ne": other_than}},
            {"name": 1},
        )
        return (str(document["_id"]), str(document["name"])) if document else None

    async def list_sftp_campaigns(self) -> list[SftpCampaign]:
        """Every campaign of every organisation with SFTP on and a folder slug."""
        cursor = self._campaigns.find({"sftp.enabled": True}).sort(
            [("org_id", 1), ("created_at", 1), ("_id", 1)]
        )
        documents = [document async for document in cursor]
        folders = await self.org_folders(sorted({str(d["org_id"]) for d in documents}))
        campaigns = []
        for document in documents:
            settings = sftp_settings(document)
            org_id = str(document["org_id"])
            # Enabling needs a slug, and a campaign of an organisation that is gone has no
            # folder: neither can be swept.
            if settings.enabled and settings.folder_slug and org_id in folders:
                campaigns.append(
                    SftpCampaign(
                        org_id=org_id,
                        campaign_id=str(document["_id"]),
                        campaign_name=str(document["name"]),
                        org_folder=folders[org_id],
                        settings=settings,
                    )
                )
        return campaigns

    async def list_checks(
        self, org_id: str, campaign_id: str
    ) -> tuple[CheckDefinition, ...] | None:
        """A campaign's checks in order; None when the organisation has no such campaign."""
        found = await self._campaigns.find_one({"_id": campaign_id, "org_id": org_id}, {"_id": 1})
        return await self._checks_of(campaign_id) if found is not None else None

    @contextlib.asynccontextmanager
    async def editing_checks(self, campaign_id: str) -> AsyncIterator[None]:
        """Holds the campaign's check-edit lock, so that its edits run one at a time.

        An edit reads the list, applies the rules to the list it would make (names once,
        at most 50) and writes. Conditional updates cannot guard that on FerretDB 1.x, where
        two concurrent ones may both match and `$inc` is not atomic; an insert under a
        unique `_id` is exclusive on MongoDB and FerretDB alike, so the lock is a document
        `{_id: campaign_id}` in `checks_locks`, deleted when the edit ends.
        """
        async with _exclusive(self._checks_locks, campaign_id, ChecksBusyError):
            yield

    @contextlib.asynccontextmanager
    async def editing_sftp(self, org_id: str) -> AsyncIterator[None]:
        """Holds the organisation's SFTP-settings lock, so that their changes run one at a time.

        A folder slug is unique among the organisation's campaigns: a change reads who has
        the slug and then writes it. A unique index cannot say that on FerretDB 1.x (no
        partial indexes, and campaigns without a slug would clash on the empty one), and two
        concurrent conditional updates may both match, so the check and the write run under
        a lock document `{_id: org_id}` in `sftp_locks`, like the checks' lock.
        """
        async with _exclusive(self._sftp_locks, org_id, SftpSettingsBusyError):
            yield

    async def add_check(self, org_id: str, campaign_id: str, check: CheckDefinition) -> None:
        """Appends a check after the campaign's last one (call inside `editing_checks`)."""
        last = await self._checks.find_one(
            {"campaign_id": campaign_id}, {"position": 1}, sort=[("position", -1)]
        )
        await self._checks.insert_one(
            {
                "_id": _new_id(),
                "org_id": org_id,
                "campaign_id": campaign_id,
                "position": int(last["position"]) + 1 if last is not None else 0,
                "definition": dataclasses.asdict(check),
                "created_at": dt.datetime.now(dt.UTC),
            }
        )

    async def update_check(self, org_id: str, campaign_id: str, check: CheckDefinition) -> bool:
        """Replaces a check's definition (same id, same place); False when there is none."""
        result = await self._checks.update_one(
            _check_query(org_id, campaign_id, check.id),
            {"$set": {"definition": dataclasses.asdict(check)}},
        )
        return result.matched_count > 0

    async def delete_check(self, org_id: str, campaign_id: str, check_id: str) -> bool:
        """Removes a check; the others keep their order. False when there is none."""
        result = await self._checks.delete_many(_check_query(org_id, campaign_id, check_id))
        return result.deleted_count > 0

    async def reorder_checks(self, org_id: str, campaign_id: str, check_ids: Sequence[str]) -> None:
        """Puts the campaign's checks in this order (every id once; call inside the lock)."""
        for position, check_id in enumerate(check_ids):
            await self._checks.update_one(
                _check_query(org_id, campaign_id, check_id), {"$set": {"position": position}}
            )

    async def _checks_of(self, campaign_id: str) -> tuple[CheckDefinition, ...]:
        cursor = self._checks.find({"campaign_id": campaign_id}).sort(
            [("position", 1), ("created_at", 1)]
        )
        return tuple([_check(row["definition"]) async for row in cursor])

    async def store_api_key(
        self,
        org_id: str,
        campaign_id: str,
        key: NewApiKey,
        *,
        name: str = "",
        rate_limit_per_minute: int | None = None,
    ) -> str:
        """Keeps a new key's hash (never the key itself); no rate limit means the default."""
        key_id = _new_id()
        await self._api_keys.insert_one(
            {
                "_id": key_id,
                "org_id": org_id,
                "campaign_id": campaign_id,
                "name": name,
                "hash": key.hash,
                "display_prefix": key.display_prefix,
                "rate_limit_per_minute": rate_limit_per_minute,
                "created_at": dt.datetime.now(dt.UTC),
                "revoked_at": None,
                "last_used_at": None,
            }
        )
        return key_id

    async def get_api_key(self, org_id: str, key_id: str) -> ApiKeyRecord | None:
        """A key of the organisation, as listed (never its hash)."""
        document = await self._api_keys.find_one({"_id": key_id, "org_id": org_id})
        return _api_key_record(document) if document is not None else None

    async def list_api_keys(self, org_id: str, campaign_id: str) -> list[ApiKeyRecord]:
        """A campaign's keys, revoked ones included, oldest first."""
        cursor = self._api_keys.find({"org_id": org_id, "campaign_id": campaign_id}).sort(
            [("created_at", 1), ("_id", 1)]
        )
        return [_api_key_record(document) async for document in cursor]

    async def revoke_api_key(self, org_id: str, key_id: str, at: dt.datetime) -> bool:
        """Marks a key revoked (keeping the first revocation time); False when there is none."""
        document = await self._api_keys.find_one({"_id": key_id, "org_id": org_id}, {"_id": 1})
        if document is None:
            return False
        await self._api_keys.update_one(
            {"_id": key_id, "org_id": org_id, "revoked_at": None}, {"$set": {"revoked_at": at}}
        )
        return True

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
            rate_limit_per_minute=document.get("rate_limit_per_minute"),
        )

    async def create_agent(
        self, org_id: str, name: str, code: str, campaign_ids: tuple[str, ...]
    ) -> Agent:
        """A new agent; DuplicateKeyError when the organisation already has the code."""
        agent = Agent(id=_new_id(), org_id=org_id, name=name, code=code, campaign_ids=campaign_ids)
        await self._agents.insert_one(
            {
                "_id": agent.id,
                "org_id": org_id,
                "name": name,
                "code": code,
                "code_key": agent_code_key(code),
                "campaign_ids": list(campaign_ids),
                "created_at": dt.datetime.now(dt.UTC),
            }
        )
        return agent

    async def get_agent(self, org_id: str, agent_id: str) -> Agent | None:
        """An agent of the organisation."""
        document = await self._agents.find_one({"_id": agent_id, "org_id": org_id})
        return _agent(document) if document is not None else None

    async def find_agent(self, org_id: str, campaign_id: str, code: str) -> Agent | None:
        """The organisation's agent with this code (any case), if it works on the campaign."""
        document = await self._agents.find_one(
            {"org_id": org_id, "code_key": agent_code_key(code), "campaign_ids": campaign_id}
        )
        return _agent(document) if document is not None else None

    async def list_agents(self, org_id: str, campaign_id: str | None = None) -> list[Agent]:
        """The organisation's agents by code (only the campaign's when given)."""
        query: Document = {"org_id": org_id}
        if campaign_id is not None:
            query["campaign_ids"] = campaign_id
        return [_agent(document) async for document in self._agents.find(query).sort("code_key", 1)]

    async def update_agent(self, org_id: str, agent_id: str, changes: Document) -> Agent | None:
        """Sets some of an agent's fields; None when there is no such agent.

        A new code brings its code_key along; DuplicateKeyError when another agent has it.
        """
        update = dict(changes)
        if "code" in update:
            update["code_key"] = agent_code_key(update["code"])
        if "campaign_ids" in update:
            update["campaign_ids"] = list(update["campaign_ids"])
        try:
            result = await self._agents.update_one(
                {"_id": agent_id, "org_id": org_id}, {"$set": update}
            )
        except DuplicateKeyError:
            raise
        except OperationFailure as error:
            if _violates_unique_index(error):
                raise DuplicateKeyError(str(error), 11000, error.details) from error
            raise
        if result.matched_count == 0:
            return None
        return await self.get_agent(org_id, agent_id)


@contextlib.asynccontextmanager
async def _exclusive(
    locks: AsyncCollection[Document], key: str, busy: type[LockBusyError]
) -> AsyncIterator[None]:
    """Holds the lock document `{_id: key}` in `locks`; `busy` when it stays taken too long."""
    token = secrets.token_hex(8)
    deadline = time.monotonic() + CHECKS_LOCK_WAIT_S
    pause_s = 0.01
    while True:
        try:
            await locks.insert_one(
                {"_id": key, "token": token, "taken_at": dt.datetime.now(dt.UTC)}
            )
            break
        except DuplicateKeyError:
            await _take_over_stale_lock(locks, key)
        if time.monotonic() >= deadline:
            raise busy(key)
        await asyncio.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.2)
    try:
        yield
    finally:
        await locks.delete_one({"_id": key, "token": token})


async def _take_over_stale_lock(locks: AsyncCollection[Document], key: str) -> None:
    """Removes the lock when its holder has had it too long to be alive."""
    lock = await locks.find_one({"_id": key})
    if lock is None:
        return
    taken_at: dt.datetime = lock["taken_at"]
    if taken_at.tzinfo is None:
        taken_at = taken_at.replace(tzinfo=dt.UTC)
    age_s = (dt.datetime.now(dt.UTC) - taken_at).total_seconds()
    if age_s > CHECKS_LOCK_STALE_AFTER_S:
        # By token: a lock taken since by someone else is left alone.
        await locks.delete_one({"_id": key, "token": lock["token"]})


def _violates_unique_index(error: OperationFailure) -> bool:
    """Whether an update broke a unique index.

    MongoDB reports that as DuplicateKeyError (code 11000) on inserts and updates
    alike; FerretDB 1.x does on inserts but answers an update with InternalError
    "UNIQUE constraint failed".
    """
    return error.code == 11000 or "UNIQUE constraint failed" in str(error)


def transcription_fields(settings: TranscriptionSettings) -> Document:
    """The campaign document's fields for its transcription settings (the API's values)."""
    return {
        "transcription_provider": settings.provider.value,
        "agent_channel": settings.agent_channel.value,
        "opening_party": settings.opening_party.value,
        "company_name": settings.company_name,
    }


def transcription_settings(document: Document) -> TranscriptionSettings:
    """A campaign document's transcription settings; a field it lacks reads as the default.

    Campaigns stored before these settings existed have none of the fields.
    """
    default = DEFAULT_TRANSCRIPTION_SETTINGS
    return TranscriptionSettings(
        provider=TranscriptionProvider(
            document.get("transcription_provider") or default.provider.value
        ),
        agent_channel=AgentChannel(document.get("agent_channel") or default.agent_channel.value),
        opening_party=OpeningParty(document.get("opening_party") or default.opening_party.value),
        company_name=str(document.get("company_name") or default.company_name),
    )


def evaluation_fields(settings: EvaluationSettings) -> Document:
    """The campaign document's fields for who evaluates its calls (the API's values)."""
    return {"evaluator": settings.evaluator.value, "claude_model": settings.claude_model}


def evaluation_settings(document: Document) -> EvaluationSettings:
    """A campaign document's evaluation settings; campaigns stored before them read as local."""
    default = DEFAULT_EVALUATION_SETTINGS
    return EvaluationSettings(
        evaluator=Evaluator(document.get("evaluator") or default.evaluator.value),
        claude_model=str(document.get("claude_model") or default.claude_model),
    )


def sftp_fields(settings: SftpSettings) -> Document:
    """The campaign document's `sftp` sub-document (the API's values)."""
    return {
        "enabled": settings.enabled,
        "folder_slug": settings.folder_slug,
        "csv": settings.csv.value,
        "batch_window_seconds": settings.batch_window_seconds,
        "agent_file_name_pattern": settings.agent_file_name_pattern,
    }


def sftp_settings(document: Document) -> SftpSettings:
    """A campaign document's SFTP settings; campaigns stored before them read as off."""
    stored = document.get("sftp")
    if not isinstance(stored, dict):
        return DEFAULT_SFTP_SETTINGS
    default = DEFAULT_SFTP_SETTINGS
    window = stored.get("batch_window_seconds")
    return SftpSettings(
        enabled=bool(stored.get("enabled", default.enabled)),
        folder_slug=str(stored.get("folder_slug") or default.folder_slug),
        csv=CsvRequirement(stored.get("csv") or default.csv.value),
        batch_window_seconds=int(window) if window is not None else default.batch_window_seconds,
        agent_file_name_pattern=str(
            stored.get("agent_file_name_pattern") or default.agent_file_name_pattern
        ),
    )


def _check_query(org_id: str, campaign_id: str, check_id: str) -> Document:
    return {"org_id": org_id, "campaign_id": campaign_id, "definition.id": check_id}


def _user(document: Document) -> User:
    # Users stored before scopes existed have no campaign_ids, agent_id or disabled.
    created_at = document.get("created_at")
    if isinstance(created_at, dt.datetime) and created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=dt.UTC)
    return User(
        id=str(document["_id"]),
        org_id=document["org_id"],
        email=document["email"],
        role=Role(document["role"]),
        campaign_ids=tuple(str(c) for c in document.get("campaign_ids") or ()),
        agent_id=str(document.get("agent_id") or ""),
        disabled=bool(document.get("disabled", False)),
        created_at=created_at,
    )


def _campaign_summary(document: Document) -> CampaignSummary:
    return CampaignSummary(
        id=str(document["_id"]),
        org_id=document["org_id"],
        name=document["name"],
        flag_threshold=float(document["flag_threshold"]),
        auto_processing=bool(document.get("auto_processing", True)),
        created_at=document.get("created_at"),
        transcription=transcription_settings(document),
        evaluation=evaluation_settings(document),
        sftp=sftp_settings(document),
    )


def _api_key_record(document: Document) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=str(document["_id"]),
        org_id=document["org_id"],
        campaign_id=document["campaign_id"],
        name=document.get("name", ""),
        display_prefix=document["display_prefix"],
        rate_limit_per_minute=document.get("rate_limit_per_minute"),
        created_at=document["created_at"],
        last_used_at=document.get("last_used_at"),
        revoked_at=document.get("revoked_at"),
    )


def _agent(document: Document) -> Agent:
    return Agent(
        id=str(document["_id"]),
        org_id=document["org_id"],
        name=document["name"],
        code=document["code"],
        campaign_ids=tuple(document.get("campaign_ids", ())),
    )


def _check(definition: Document) -> CheckDefinition:
    hints = {name: tuple(definition.get(name, ())) for name in _CHECK_HINT_LISTS}
    return CheckDefinition(**{**definition, **hints})


# The check fields stored as lists (BSON has no tuples).
_CHECK_HINT_LISTS = ("phrases", "keywords", "applies_when")
