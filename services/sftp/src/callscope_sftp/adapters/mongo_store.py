"""The sftp service's collections: `sftp_batches`, `sftp_files`, and the claims that keep
replicas apart (`sftp_name_claims`, `sftp_leases`), plus `sftp_sweepers` (their status).

FerretDB lets two concurrent conditional updates both match, so nothing here decides a
race with one: every race is decided by inserting a document with a unique `_id`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from callscope_sftp.domain.model import (
    OPEN_BATCH_STATUSES,
    Batch,
    BatchStatus,
    CsvRow,
    FileCounts,
    FileKind,
    FileStatus,
    Location,
    TrackedFile,
)

Document = dict[str, Any]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def file_to_document(file: TrackedFile) -> Document:
    """A file record as stored."""
    document = dataclasses.asdict(file)
    document["_id"] = document.pop("id")
    document["kind"] = file.kind.value if file.kind else None
    document["status"] = file.status.value
    document["location"] = file.location.value
    # A name that is not UTF-8 holds surrogates, which BSON strings cannot: kept as bytes.
    try:
        file.name.encode("utf-8")
    except UnicodeEncodeError:
        document["name"] = file.name.encode("utf-8", "surrogateescape")
    return document


def file_from_document(document: Document) -> TrackedFile:
    """A stored file record."""
    values = {k: v for k, v in document.items() if k != "_id"}
    values["id"] = document["_id"]
    values["kind"] = FileKind(document["kind"]) if document.get("kind") else None
    values["status"] = FileStatus(document["status"])
    values["location"] = Location(document.get("location", ""))
    if isinstance(document["name"], bytes):
        values["name"] = document["name"].decode("utf-8", "surrogateescape")
    for key in ("detected_at", "updated_at", "unchanged_since"):
        values[key] = _utc(values.get(key))
    known = {f.name for f in dataclasses.fields(TrackedFile)}
    return TrackedFile(**{k: v for k, v in values.items() if k in known})


def batch_to_document(batch: Batch) -> Document:
    """A batch as stored (CSV rows with their problems joined, as FerretDB has no arrays
    inside arrays)."""
    document = dataclasses.asdict(batch)
    document["_id"] = document.pop("id")
    document["status"] = batch.status.value
    document["csv_rows"] = [
        {
            "line": row.line,
            "file_name": row.file_name,
            "metadata": row.metadata,
            "errors": "\n".join(row.errors),
            "warnings": "\n".join(row.warnings),
        }
        for row in batch.csv_rows
    ]
    return document


def batch_from_document(document: Document) -> Batch:
    """A stored batch."""
    values = {k: v for k, v in document.items() if k != "_id"}
    values["id"] = document["_id"]
    values["status"] = BatchStatus(document["status"])
    values["counts"] = FileCounts(**document.get("counts", {}))
    values["csv_rows"] = [
        CsvRow(
            line=row["line"],
            file_name=row["file_name"],
            metadata=dict(row.get("metadata") or {}),
            errors=tuple(e for e in row.get("errors", "").split("\n") if e),
            warnings=tuple(w for w in row.get("warnings", "").split("\n") if w),
        )
        for row in document.get("csv_rows", [])
    ]
    for key in ("opened_at", "window_ends_at", "updated_at", "processing_started_at",
                "finished_at"):  # fmt: skip
        values[key] = _utc(values.get(key))
    known = {f.name for f in dataclasses.fields(Batch)}
    return Batch(**{k: v for k, v in values.items() if k in known})


class MongoSftpStore:
    """SftpStore on MongoDB/FerretDB."""

    def __init__(self, database: AsyncDatabase[Document], *, lease_s: float = 30.0) -> None:
        self._batches = database["sftp_batches"]
        self._files = database["sftp_files"]
        self._claims = database["sftp_name_claims"]
        self._leases = database["sftp_leases"]
        self._sweepers = database["sftp_sweepers"]
        self._lease_s = lease_s

    async def ensure_indexes(self) -> None:
        """The indexes the sweeps and the API read by."""
        await self._files.create_index([("campaign_id", ASCENDING), ("active", ASCENDING)])
        await self._files.create_index([("batch_id", ASCENDING)])
        await self._files.create_index(
            [("org_id", ASCENDING), ("campaign_id", ASCENDING), ("detected_at", DESCENDING)]
        )
        await self._batches.create_index([("campaign_id", ASCENDING), ("status", ASCENDING)])
        await self._batches.create_index(
            [("org_id", ASCENDING), ("campaign_id", ASCENDING), ("opened_at", DESCENDING)]
        )

    # ---- files and batches --------------------------------------------------------------

    async def active_files(self, campaign_id: str) -> list[TrackedFile]:
        """The files still tracked in the campaign folder, oldest first."""
        cursor = self._files.find({"campaign_id": campaign_id, "active": True}).sort(
            [("detected_at", ASCENDING), ("_id", ASCENDING)]
        )
        return [file_from_document(d) async for d in cursor]

    async def save_file(self, file: TrackedFile) -> None:
        """Inserts or replaces a file record."""
        await self._files.replace_one({"_id": file.id}, file_to_document(file), upsert=True)

    async def batch_files(self, batch_id: str) -> list[TrackedFile]:
        """Every file record of a batch, oldest first."""
        cursor = self._files.find({"batch_id": batch_id}).sort(
            [("detected_at", ASCENDING), ("_id", ASCENDING)]
        )
        return [file_from_document(d) async for d in cursor]

    async def open_batch(self, campaign_id: str) -> Batch | None:
        """The campaign's newest batch that still takes files."""
        document = await self._batches.find_one(
            {"campaign_id": campaign_id, "status": {"$in": [s.value for s in OPEN_BATCH_STATUSES]}},
            sort=[("opened_at", DESCENDING)],
        )
        return batch_from_document(document) if document else None

    async def unfinished_batches(self, campaign_id: str) -> list[Batch]:
        """The campaign's batches being processed."""
        cursor = self._batches.find(
            {"campaign_id": campaign_id, "status": BatchStatus.PROCESSING.value}
        ).sort([("opened_at", ASCENDING)])
        return [batch_from_document(d) async for d in cursor]

    async def get_batch(self, batch_id: str) -> Batch | None:
        """A batch by id."""
        document = await self._batches.find_one({"_id": batch_id})
        return batch_from_document(document) if document else None

    async def save_batch(self, batch: Batch) -> None:
        """Inserts or replaces a batch."""
        await self._batches.replace_one({"_id": batch.id}, batch_to_document(batch), upsert=True)

    # ---- reading for the API ------------------------------------------------------------

    async def list_batches(
        self,
        org_id: str,
        campaign_id: str,
        statuses: list[BatchStatus],
        offset: int,
        limit: int,
    ) -> list[Batch]:
        """A page of a campaign's batches, newest first."""
        query: Document = {"org_id": org_id, "campaign_id": campaign_id}
        if statuses:
            query["status"] = {"$in": [s.value for s in statuses]}
        cursor = (
            self._batches.find(query, {"csv_rows": 0})
            .sort([("opened_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [batch_from_document(d) async for d in cursor]

    async def list_files(  # noqa: PLR0917 - mirrors the request's fields
        self,
        org_id: str,
        campaign_id: str,
        statuses: list[FileStatus],
        batch_id: str,
        offset: int,
        limit: int,
    ) -> list[TrackedFile]:
        """A page of a campaign's files, newest first."""
        query: Document = {"org_id": org_id, "campaign_id": campaign_id}
        if statuses:
            query["status"] = {"$in": [s.value for s in statuses]}
        if batch_id:
            query["batch_id"] = batch_id
        cursor = (
            self._files.find(query)
            .sort([("detected_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [file_from_document(d) async for d in cursor]

    # ---- claims -------------------------------------------------------------------------

    async def claim_name(self, campaign_id: str, name: str, file_id: str) -> str:
        """Claims the name for the campaign; the holder's file id."""
        key = f"{campaign_id}|{name}"
        try:
            await self._claims.insert_one(
                {"_id": key, "file_id": file_id, "claimed_at": dt.datetime.now(dt.UTC)}
            )
        except DuplicateKeyError:
            holder = await self._claims.find_one({"_id": key})
            if holder is None:  # released in between: try once more
                return await self.claim_name(campaign_id, name, file_id)
            return str(holder["file_id"])
        return file_id

    async def release_name(self, campaign_id: str, name: str, file_id: str) -> None:
        """Gives the name back if this file holds it."""
        await self._claims.delete_one({"_id": f"{campaign_id}|{name}", "file_id": file_id})

    async def name_claimed_at(self, campaign_id: str, name: str) -> dt.datetime | None:
        """When the name was claimed."""
        holder = await self._claims.find_one({"_id": f"{campaign_id}|{name}"})
        return _utc(holder["claimed_at"]) if holder else None

    async def hold_lease(self, campaign_id: str, replica_id: str) -> bool:
        """Whether this replica holds the campaign for the current lease slot.

        Time is cut into slots of the lease length; a slot's holder is whoever inserted
        its document first. The holder inserts the next slot's document during the second
        half of its slot, so it keeps the campaign while it lives; when it dies, the next
        slot goes to whichever replica asks first (at most two slots later).
        """
        now = dt.datetime.now(dt.UTC).timestamp()
        slot = int(now // self._lease_s)
        holder = await self._slot_holder(campaign_id, slot, replica_id)
        if holder != replica_id:
            return False
        if now - slot * self._lease_s >= self._lease_s / 2:
            await self._slot_holder(campaign_id, slot + 1, replica_id)
            await self._leases.delete_many({"campaign_id": campaign_id, "slot": {"$lt": slot - 2}})
        return True

    async def _slot_holder(self, campaign_id: str, slot: int, replica_id: str) -> str:
        key = f"{campaign_id}|{slot}"
        try:
            await self._leases.insert_one(
                {"_id": key, "campaign_id": campaign_id, "slot": slot, "holder": replica_id}
            )
        except DuplicateKeyError:
            document = await self._leases.find_one({"_id": key})
            return str(document["holder"]) if document else ""
        return replica_id

    # ---- sweeper status -----------------------------------------------------------------

    async def record_sweep(
        self, replica_id: str, server: str, error: str, campaigns_held: int
    ) -> None:
        """The replica's last sweep."""
        now = dt.datetime.now(dt.UTC)
        update: Document = {
            "server": server,
            "last_error": error,
            "last_sweep_at": now,
            "connected": not error,
            "campaigns_held": campaigns_held,
        }
        if not error:
            update["last_success_at"] = now
        await self._sweepers.update_one({"_id": replica_id}, {"$set": update}, upsert=True)

    async def sweepers(self) -> list[Document]:
        """Every replica's last sweep, most recent first."""
        cursor = self._sweepers.find({}).sort([("last_sweep_at", DESCENDING)]).limit(50)
        return [d async for d in cursor]
