"""Versioned per-call documents in MongoDB: the storage rule transcripts and analyses share.

One document per (call_id, version); every re-run is a new version and the old
ones stay readable. A unique `source_event_id` makes each Kafka event produce at
most one version, so a redelivered event cannot add a second one.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]

# Asking for version 0 means asking for the latest version.
LATEST_VERSION = 0


class VersionTakenError(Exception):
    """The version number or the source event is already stored."""


class VersionedCollection:
    """Reads and writes one collection of versioned per-call documents."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        """The unique indexes the version and idempotency rules rely on."""
        await self._collection.create_index(
            [("call_id", ASCENDING), ("version", ASCENDING)],
            unique=True,
            name="call_id_version_unique",
        )
        await self._collection.create_index(
            [("source_event_id", ASCENDING)], unique=True, name="source_event_id_unique"
        )

    async def find_by_source_event(self, event_id: str) -> Document | None:
        """The document an event already produced, if any."""
        return await self._collection.find_one({"source_event_id": event_id})

    async def latest_version(self, call_id: str) -> int:
        """The highest stored version of the call; 0 when there is none."""
        document = await self._collection.find_one(
            {"call_id": call_id}, projection={"version": 1}, sort=[("version", DESCENDING)]
        )
        return int(document["version"]) if document else 0

    async def insert(self, document: Document) -> None:
        """Stores a new version; VersionTakenError if its version or source event is taken."""
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError as error:
            raise VersionTakenError(str(error)) from error

    async def get(self, org_id: str, call_id: str, version: int) -> Document | None:
        """A version (0 = the latest) of a call's documents; other organisations see nothing."""
        query: Document = {"call_id": call_id, "org_id": org_id}
        if version != LATEST_VERSION:
            query["version"] = version
        return await self._collection.find_one(query, sort=[("version", DESCENDING)])

    async def list(
        self, org_id: str, call_id: str, projection: Document | None = None
    ) -> list[Document]:
        """Every version of a call's documents, newest first; other organisations see nothing."""
        cursor = self._collection.find(
            {"call_id": call_id, "org_id": org_id},
            projection=projection,
            sort=[("version", DESCENDING)],
        )
        return [document async for document in cursor]

    async def delete_call(self, org_id: str, call_id: str) -> int:
        """Deletes every version of a call's documents; returns how many there were."""
        result = await self._collection.delete_many({"call_id": call_id, "org_id": org_id})
        return int(result.deleted_count)
