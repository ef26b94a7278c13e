"""MongoDB storage of jobs (collections `bulk_jobs`, `bulk_job_items`, `job_item_claims`).

Who uploads an item, and whether a job is cancelled, is settled by inserting a claim
with a unique `_id` into `job_item_claims`: FerretDB lets two concurrent conditional
`update_one`s both match (docs/pipeline.md), but never two documents with one `_id`.
Item states are then plain updates made by the claim's holder only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.jobs import (
    ItemClaim,
    Job,
    JobCursor,
    JobItem,
    JobItemState,
    JobTally,
)
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus

Document = dict[str, Any]

# MongoDB's error code for a duplicate key, as reported per document by a bulk insert.
_DUPLICATE_KEY = 11000


class MongoJobStore:
    """Jobs, their items, and the claims on items; reads the `calls` ingest also owns."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._jobs: AsyncCollection[Document] = database["bulk_jobs"]
        self._items: AsyncCollection[Document] = database["bulk_job_items"]
        self._claims: AsyncCollection[Document] = database["job_item_claims"]
        self._calls: AsyncCollection[Document] = database["calls"]

    async def ensure_indexes(self) -> None:
        """Listing a campaign's jobs newest first, and a job's items in order."""
        await self._jobs.create_index([("org_id", 1), ("campaign_id", 1), ("created_at", -1)])
        await self._items.create_index([("job_id", 1), ("position", 1)])

    async def create(self, job: Job, items: Sequence[JobItem]) -> None:
        """Items first, then the job: nobody finds the job before all its items exist."""
        try:
            if items:
                await self._items.insert_many([_item_document(job, item) for item in items])
            await self._jobs.insert_one(_job_document(job))
        except BaseException:
            await self._items.delete_many({"job_id": job.id})
            raise

    async def get(self, org_id: str, job_id: str) -> Job | None:
        """The job with this id in this organisation, if any."""
        document = await self._jobs.find_one({"_id": job_id, "org_id": org_id})
        return _job_from(document) if document else None

    async def page(
        self, org_id: str, campaign_id: str, limit: int, after: JobCursor | None
    ) -> list[Job]:
        """Up to limit jobs of a campaign, newest first, after the cursor."""
        conditions: list[Document] = [{"org_id": org_id}, {"campaign_id": campaign_id}]
        if after is not None:
            conditions.append(
                {
                    "$or": [
                        {"created_at": {"$lt": after.created_at}},
                        {"created_at": after.created_at, "_id": {"$lt": after.job_id}},
                    ]
                }
            )
        documents = await (
            self._jobs.find({"$and": conditions})
            .sort([("created_at", -1), ("_id", -1)])
            .limit(limit)
            .to_list()
        )
        return [_job_from(document) for document in documents]

    async def items(self, job_id: str) -> list[JobItem]:
        """The job's items in order, each with the status of its call (by job id)."""
        documents = await self._items.find({"job_id": job_id}).sort("position", 1).to_list()
        calls = await self._calls.find(
            {"job_id": job_id}, {"_id": 1, "job_item_id": 1, "status": 1}
        ).to_list()
        status_of = {call["job_item_id"]: CallStatus(call["status"]) for call in calls}
        return [
            dataclasses.replace(_item_from(document), call_status=status_of.get(document["_id"]))
            for document in documents
        ]

    async def item(self, job_id: str, item_id: str) -> JobItem | None:
        """One item of the job, if it has it."""
        document = await self._items.find_one({"_id": item_id, "job_id": job_id})
        return _item_from(document) if document else None

    async def tallies(self, job_ids: Sequence[str]) -> dict[str, JobTally]:
        """Counted by the database: items per state and calls per status, per job."""
        if not job_ids:
            return {}
        wanted = {"job_id": {"$in": list(job_ids)}}
        items: dict[str, dict[JobItemState, int]] = {job_id: {} for job_id in job_ids}
        calls: dict[str, dict[CallStatus, int]] = {job_id: {} for job_id in job_ids}
        for group in await self._count(self._items, wanted, "$state"):
            items[group["_id"]["job_id"]][JobItemState(group["_id"]["key"])] = group["count"]
        for group in await self._count(self._calls, wanted, "$status"):
            calls[group["_id"]["job_id"]][CallStatus(group["_id"]["key"])] = group["count"]
        return {job_id: JobTally(items[job_id], calls[job_id]) for job_id in job_ids}

    @staticmethod
    async def _count(
        collection: AsyncCollection[Document], match: Document, key: str
    ) -> list[Document]:
        pipeline: list[Document] = [
            {"$match": match},
            {"$group": {"_id": {"job_id": "$job_id", "key": key}, "count": {"$sum": 1}}},
        ]
        return await (await collection.aggregate(pipeline)).to_list()

    async def claim_item(self, job_id: str, item_id: str, claim: ItemClaim) -> ItemClaim | None:
        """Claims the item; None when claimed, else what already holds it."""
        document = {
            "_id": item_id,
            "job_id": job_id,
            "claim": claim.value,
            "at": dt.datetime.now(dt.UTC),
        }
        for _ in range(3):
            try:
                await self._claims.insert_one(document)
            except DuplicateKeyError:
                holder = await self._claims.find_one({"_id": item_id})
                if holder is not None:
                    return ItemClaim(holder["claim"])
                continue  # released in between: try again
            return None
        raise RuntimeError(f"the claim on item {item_id} keeps changing hands")

    async def release_item(self, item_id: str) -> None:
        """Frees the item's claim (its file may be sent again)."""
        await self._claims.delete_one({"_id": item_id})

    async def start_upload(self, item_id: str, size_bytes: int, at: dt.datetime) -> None:
        """UPLOADING, progress from zero, the last error cleared."""
        changes: Document = {
            "state": JobItemState.UPLOADING.value,
            "bytes_received": 0,
            "upload_started_at": at,
            "progress_at": at,
            "error_code": "",
            "error_message": "",
            "updated_at": at,
        }
        if size_bytes > 0:
            changes["size_bytes"] = size_bytes
        await self._items.update_one({"_id": item_id}, {"$set": changes})

    async def record_progress(self, item_id: str, bytes_received: int, at: dt.datetime) -> None:
        """Writes down how many bytes of the item's file have arrived."""
        await self._items.update_one(
            {"_id": item_id, "state": JobItemState.UPLOADING.value},
            {"$set": {"bytes_received": bytes_received, "progress_at": at}},
        )

    async def finish_upload(
        self, item_id: str, call_id: str, bytes_received: int, at: dt.datetime
    ) -> None:
        """UPLOADED with the call; an unannounced size becomes the received size."""
        await self._items.update_one(
            {"_id": item_id, "size_bytes": 0}, {"$set": {"size_bytes": bytes_received}}
        )
        await self._items.update_one(
            {"_id": item_id},
            {
                "$set": {
                    "state": JobItemState.UPLOADED.value,
                    "call_id": call_id,
                    "bytes_received": bytes_received,
                    "progress_at": at,
                    "updated_at": at,
                }
            },
        )

    async def reject_upload(self, item_id: str, code: str, message: str, at: dt.datetime) -> None:
        """REJECTED with the reason."""
        await self._items.update_one(
            {"_id": item_id},
            {
                "$set": {
                    "state": JobItemState.REJECTED.value,
                    "error_code": code,
                    "error_message": message,
                    "progress_at": at,
                    "updated_at": at,
                }
            },
        )

    async def reset_upload(self, item_id: str, at: dt.datetime) -> None:
        """Back to WAITING with no progress."""
        await self._items.update_one(
            {"_id": item_id},
            {
                "$set": {
                    "state": JobItemState.WAITING.value,
                    "bytes_received": 0,
                    "upload_started_at": None,
                    "progress_at": None,
                    "updated_at": at,
                }
            },
        )

    async def stale_uploads(self, progress_before: dt.datetime, limit: int) -> list[JobItem]:
        """UPLOADING items whose progress was last written before the time, oldest first."""
        cursor = self._items.find(
            {"state": JobItemState.UPLOADING.value, "progress_at": {"$lt": progress_before}},
            sort=[("progress_at", 1)],
            limit=limit,
        )
        return [_item_from(document) async for document in cursor]

    async def stray_upload_claims(self, claimed_before: dt.datetime, limit: int) -> list[str]:
        """Items WAITING or REJECTED whose upload claim, taken before the time, is still held."""
        claims = await self._claims.find(
            {"claim": ItemClaim.UPLOAD.value, "at": {"$lt": claimed_before}},
            projection={"_id": 1},
            limit=limit,
        ).to_list()
        if not claims:
            return []
        settled_back = [JobItemState.WAITING.value, JobItemState.REJECTED.value]
        items = await self._items.find(
            {"_id": {"$in": [claim["_id"] for claim in claims]}, "state": {"$in": settled_back}},
            projection={"_id": 1},
        ).to_list()
        return [str(item["_id"]) for item in items]

    async def call_of_item(self, job_id: str, item_id: str) -> tuple[str, int] | None:
        """The id and audio size of the call made from the item's file, if one was stored."""
        document = await self._calls.find_one(
            {"job_id": job_id, "job_item_id": item_id}, projection={"audio": 1}
        )
        if document is None:
            return None
        audio = document.get("audio") or {}
        return str(document["_id"]), int(audio.get("size_bytes", 0))

    async def cancel_item(self, item_id: str, at: dt.datetime) -> None:
        """CANCELLED; the claim is turned into the cancellation's, so no upload takes it."""
        await self._claims.update_one({"_id": item_id}, {"$set": {"claim": ItemClaim.CANCEL.value}})
        await self._items.update_one(
            {"_id": item_id},
            {"$set": {"state": JobItemState.CANCELLED.value, "updated_at": at}},
        )

    async def claim_cancellation(self, job_id: str, at: dt.datetime) -> bool:
        """A claim document per job (ids of items are hex, so `cancel:` cannot collide)."""
        try:
            await self._claims.insert_one(
                {"_id": f"cancel:{job_id}", "job_id": job_id, "claim": "JOB", "at": at}
            )
        except DuplicateKeyError:
            return False
        return True

    async def mark_cancelled(self, job_id: str, at: dt.datetime) -> None:
        """Sets the job's cancelled_at."""
        await self._jobs.update_one({"_id": job_id}, {"$set": {"cancelled_at": at}})

    async def cancel_waiting_items(self, job_id: str, at: dt.datetime) -> int:
        """One unordered bulk insert of claims: the items whose claim went in are cancelled."""
        waiting = await self._items.find(
            {"job_id": job_id, "state": JobItemState.WAITING.value}, {"_id": 1}
        ).to_list()
        ids = [document["_id"] for document in waiting]
        if not ids:
            return 0
        claims = [
            {"_id": item_id, "job_id": job_id, "claim": ItemClaim.CANCEL.value, "at": at}
            for item_id in ids
        ]
        won = set(ids)
        try:
            await self._claims.insert_many(claims, ordered=False)
        except BulkWriteError as error:
            for failure in error.details.get("writeErrors", []):
                if failure.get("code") != _DUPLICATE_KEY:
                    raise
                # Held by an upload in flight: that file completes.
                won.discard(ids[failure["index"]])
        if won:
            await self._items.update_many(
                {"_id": {"$in": sorted(won)}},
                {"$set": {"state": JobItemState.CANCELLED.value, "updated_at": at}},
            )
        return len(won)


def _job_document(job: Job) -> Document:
    return {
        "_id": job.id,
        "org_id": job.org_id,
        "campaign_id": job.campaign_id,
        "source": job.source.value,
        "metadata": dataclasses.asdict(job.metadata),
        "created_at": job.created_at,
        "cancelled_at": job.cancelled_at,
    }


def _job_from(document: Document) -> Job:
    return Job(
        id=document["_id"],
        org_id=document["org_id"],
        campaign_id=document["campaign_id"],
        source=UploadSource(document["source"]),
        metadata=CallMetadata(**document.get("metadata", {})),
        created_at=document["created_at"],
        cancelled_at=document.get("cancelled_at"),
    )


def _item_document(job: Job, item: JobItem) -> Document:
    return {
        "_id": item.id,
        "job_id": job.id,
        "org_id": job.org_id,
        "campaign_id": job.campaign_id,
        "position": item.position,
        "file_name": item.file_name,
        "line": item.line,
        "metadata": dataclasses.asdict(item.metadata),
        "state": item.state.value,
        "size_bytes": item.size_bytes,
        "bytes_received": item.bytes_received,
        "upload_started_at": item.upload_started_at,
        "progress_at": item.progress_at,
        "call_id": item.call_id,
        "error_code": item.error_code,
        "error_message": item.error_message,
        "updated_at": job.created_at,
    }


def _item_from(document: Document) -> JobItem:
    return JobItem(
        id=document["_id"],
        job_id=document["job_id"],
        position=document["position"],
        file_name=document["file_name"],
        metadata=CallMetadata(**document.get("metadata", {})),
        state=JobItemState(document["state"]),
        line=document.get("line", 0),
        size_bytes=document.get("size_bytes", 0),
        bytes_received=document.get("bytes_received", 0),
        upload_started_at=document.get("upload_started_at"),
        progress_at=document.get("progress_at"),
        call_id=document.get("call_id", ""),
        error_code=document.get("error_code", ""),
        error_message=document.get("error_message", ""),
    )
