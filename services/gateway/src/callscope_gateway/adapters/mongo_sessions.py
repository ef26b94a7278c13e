"""Login sessions in MongoDB (collection `sessions`, owned by the gateway)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from callscope_gateway.adapters.mongo_expiry import ensure_expiry_index
from callscope_gateway.domain.sessions import NewSession, Session

Document = dict[str, Any]


class MongoSessionStore:
    """Sessions by the SHA-256 of their token; the token itself is never stored."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._sessions = database["sessions"]

    async def ensure_indexes(self) -> None:
        """Expiry (TTL where supported) and the lookups by user."""
        await ensure_expiry_index(self._sessions, "expires_at")
        await self._sessions.create_index("user_id")

    async def store(self, session: NewSession, user_id: str, org_id: str) -> None:
        """Keeps a new session."""
        await self._sessions.insert_one(
            {
                "_id": session.token_hash,
                "user_id": user_id,
                "org_id": org_id,
                "created_at": session.created_at,
                "expires_at": session.expires_at,
            }
        )

    async def live(self, token_hash: str, at: dt.datetime) -> Session | None:
        """The session with this token hash if it has not expired by `at`."""
        document = await self._sessions.find_one({"_id": token_hash})
        if document is None:
            return None
        session = Session(
            token_hash=token_hash,
            user_id=document["user_id"],
            org_id=document["org_id"],
            created_at=document["created_at"],
            expires_at=_aware(document["expires_at"]),
        )
        return session if session.is_live(at) else None

    async def delete(self, token_hash: str) -> None:
        """Ends a session (logout)."""
        await self._sessions.delete_one({"_id": token_hash})

    async def delete_for_user(self, user_id: str) -> int:
        """Ends every session of a user (disabled or deleted)."""
        result = await self._sessions.delete_many({"user_id": user_id})
        return result.deleted_count

    async def purge_expired(self, at: dt.datetime) -> int:
        """Deletes sessions expired by `at` (what a TTL index does where there is one)."""
        result = await self._sessions.delete_many({"expires_at": {"$lte": at}})
        return result.deleted_count


def _aware(moment: dt.datetime) -> dt.datetime:
    # The gateway's client is tz-aware; a naive value can only be UTC (BSON dates are).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
