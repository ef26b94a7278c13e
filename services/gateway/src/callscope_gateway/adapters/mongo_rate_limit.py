"""Per-key request counting in MongoDB (collection `api_key_usage`, owned by the gateway).

Each key has one counter document per fixed window, `_id` "<key_id>:<window start
epoch>", bumped with an upserting `$inc` that returns the new count. On MongoDB the
`$inc` is atomic, so every request of a window gets its own number. FerretDB 1.x
(SQLite backend) is not: it reads, adds one and writes back, so concurrent
increments lose updates and hand the same number to several requests (measured in
tests/integration/test_rate_limit_counting.py; see docs/api.md).

So the count is only a ticket: a request is admitted when it also claims the slot
document "<key_id>:<window start>#<n>" (an insert, which the unique `_id` makes
exclusive on both servers) for some n no greater than the limit. It tries its ticket
first and, when that slot is taken (a ticket handed out twice), the next ones up.
Every count n a server returns was preceded by n - 1, so all slots up to the highest
ticket are tried by someone: a request is refused only when slots 1..limit are all
claimed, and never more than `limit` are admitted. On MongoDB every ticket is unique
and the first claim always succeeds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from callscope_gateway.adapters.mongo_expiry import ensure_expiry_index
from callscope_gateway.domain.rate_limit import RateDecision, RateWindow, window_at

Document = dict[str, Any]

# Slots a request tries from its ticket up when the ticket's slot is taken (only under
# concurrency on a server whose `$inc` is not atomic, where tickets lag behind by about
# the number of requests in flight). Past this the request is refused, never admitted
# uncounted.
MAX_PROBES = 1000
# Concurrent first upserts of a window: one inserts, the others get DuplicateKeyError
# and increment the document that now exists.
MAX_UPSERT_ATTEMPTS = 5
# Window documents outlive their window a little, so a late request still finds them.
EXPIRY_GRACE_S = 60


class MongoRateLimiter:
    """Counts a key's requests in the current window, shared by every gateway replica."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._usage = database["api_key_usage"]

    async def ensure_indexes(self) -> None:
        """Expiry (TTL where supported) and the purge of a key's old windows."""
        await ensure_expiry_index(self._usage, "expires_at")
        await self._usage.create_index([("key_id", 1), ("window_start", 1)])

    async def admit(self, key_id: str, limit: int, now: dt.datetime) -> RateDecision:
        """Counts one request of the key; admitted while the window has had at most `limit`."""
        window = window_at(now)
        counter_id = f"{key_id}:{window.start_epoch}"
        ticket = await self._increment(counter_id, key_id, window)
        if ticket == 1:
            await self.purge_before(key_id, window)
        last_slot = min(limit, ticket + MAX_PROBES - 1)
        for slot in range(ticket, last_slot + 1):
            try:
                await self._usage.insert_one(
                    {"_id": f"{counter_id}#{slot}", **_window_fields(key_id, window), "slot": True}
                )
            except DuplicateKeyError:
                continue
            return RateDecision(admitted=True, limit=limit, position=slot, window=window)
        return RateDecision(admitted=False, limit=limit, position=0, window=window)

    async def count(self, key_id: str, now: dt.datetime) -> int:
        """Requests admitted for the key in the window containing `now` (claimed slots)."""
        window = window_at(now)
        return await self._usage.count_documents(
            {"key_id": key_id, "window_start": window.start_epoch, "slot": True}
        )

    async def purge_before(self, key_id: str, window: RateWindow) -> int:
        """Deletes the key's earlier windows (what the TTL index does where there is one)."""
        result = await self._usage.delete_many(
            {"key_id": key_id, "window_start": {"$lt": window.start_epoch}}
        )
        return result.deleted_count

    async def _increment(self, counter_id: str, key_id: str, window: RateWindow) -> int:
        for attempt in range(MAX_UPSERT_ATTEMPTS):
            try:
                document = await self._usage.find_one_and_update(
                    {"_id": counter_id},
                    {
                        "$inc": {"count": 1},
                        "$setOnInsert": {**_window_fields(key_id, window), "slot": False},
                    },
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                if attempt + 1 == MAX_UPSERT_ATTEMPTS:
                    raise
                continue
            assert document is not None, "an upsert returning the new document returns one"
            return int(document["count"])
        raise AssertionError("unreachable: the loop returns or raises")


def _window_fields(key_id: str, window: RateWindow) -> Document:
    return {
        "key_id": key_id,
        "window_start": window.start_epoch,
        "expires_at": window.ends_at + dt.timedelta(seconds=EXPIRY_GRACE_S),
    }
