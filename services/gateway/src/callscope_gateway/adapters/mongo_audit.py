"""The audit log in MongoDB (collection `audit_log`, owned by the gateway)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from callscope_gateway.domain.audit import AuditAction, AuditEntry, AuditQuery, TargetType

Document = dict[str, Any]


class MongoAuditLog:
    """Entries by id; a deduplicated view's id is its view key, so a second insert fails."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._entries = database["audit_log"]

    async def ensure_indexes(self) -> None:
        """The newest-first listing of an organisation, and the lookups by target."""
        await self._entries.create_index([("org_id", 1), ("at", -1), ("_id", -1)])
        await self._entries.create_index([("org_id", 1), ("target_id", 1)])

    async def record(self, entry: AuditEntry) -> bool:
        """Keeps an entry; False when one with its id exists (a view already recorded)."""
        try:
            await self._entries.insert_one(_to_document(entry))
        except DuplicateKeyError:
            return False
        return True

    async def search(self, query: AuditQuery) -> tuple[list[AuditEntry], bool]:
        """One page of entries, newest first, and whether more follow."""
        cursor = (
            self._entries.find(_filter(query))
            .sort([("at", -1), ("_id", -1)])
            .limit(query.limit + 1)
        )
        entries = [_from_document(document) async for document in cursor]
        return entries[: query.limit], len(entries) > query.limit


def _filter(query: AuditQuery) -> Document:
    conditions: list[Document] = [{"org_id": query.org_id}]
    if query.actor:
        # An email finds a user's entries as well as their id does.
        field = "actor_email" if "@" in query.actor else "actor"
        conditions.append({field: query.actor.lower() if "@" in query.actor else query.actor})
    if query.action is not None:
        conditions.append({"action": query.action.value})
    if query.target_type is not None:
        conditions.append({"target_type": query.target_type.value})
    if query.target_id:
        conditions.append({"target_id": query.target_id})
    if query.campaign_id:
        conditions.append({"campaign_id": query.campaign_id})
    if query.at_from is not None:
        conditions.append({"at": {"$gte": query.at_from}})
    if query.at_to is not None:
        conditions.append({"at": {"$lt": query.at_to}})
    if query.after is not None:
        at, entry_id = query.after
        conditions.append({"$or": [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": entry_id}}]})
    return {"$and": conditions}


def _to_document(entry: AuditEntry) -> Document:
    return {
        "_id": entry.id,
        "org_id": entry.org_id,
        "actor": entry.actor,
        "actor_email": entry.actor_email,
        "action": entry.action.value,
        "target_type": entry.target_type.value,
        "target_id": entry.target_id,
        "campaign_id": entry.campaign_id,
        "method": entry.method,
        "route": entry.route,
        "at": entry.at,
        "summary": entry.summary,
    }


def _from_document(document: Document) -> AuditEntry:
    at: dt.datetime = document["at"]
    return AuditEntry(
        id=str(document["_id"]),
        org_id=document["org_id"],
        actor=document["actor"],
        actor_email=document.get("actor_email", ""),
        action=AuditAction(document["action"]),
        target_type=TargetType(document["target_type"]),
        target_id=document.get("target_id", ""),
        campaign_id=document.get("campaign_id", ""),
        method=document.get("method", ""),
        route=document.get("route", ""),
        at=at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC),
        summary=dict(document.get("summary") or {}),
    )
