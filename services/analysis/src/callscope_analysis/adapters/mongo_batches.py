"""MongoDB storage of analyses waiting for the Message Batches API (`claude_batch_items`,
`claude_batch_claims`).

An item's `_id` is the id of the event that queued it, so a redelivered event
queues nothing twice. Who submits an item, or collects a batch, is settled by
inserting a claim with a unique `_id` into `claude_batch_claims`: FerretDB lets two
concurrent conditional `update_one`s both match, but never two documents with one
`_id`. Item states are then plain updates made by the claim's holder only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from callscope_analysis.adapters.mongo import check_from_document, check_to_document
from callscope_analysis.domain.batches import BatchItem, BatchItemStatus, BatchSubmission
from callscope_analysis.domain.model import Campaign, EvaluatorKind

Document = dict[str, Any]

ITEMS = "claude_batch_items"
CLAIMS = "claude_batch_claims"


class MongoBatchItemStore:
    """Batch items and the claims on them; each instance is one claim holder (a replica)."""

    def __init__(self, database: AsyncDatabase[Document], holder: str = "") -> None:
        self._items: AsyncCollection[Document] = database[ITEMS]
        self._claims: AsyncCollection[Document] = database[CLAIMS]
        self.holder = holder or uuid.uuid4().hex

    async def ensure_indexes(self) -> None:
        """Finding the queue's oldest items, a batch's items, and stale claims."""
        await self._items.create_index([("status", 1), ("created_at", 1)])
        await self._items.create_index([("batch_id", 1), ("status", 1)])
        await self._claims.create_index([("at", 1)])

    async def queue(self, item: BatchItem) -> bool:
        """Stores a new QUEUED item; False when its event already queued one."""
        try:
            await self._items.insert_one(_item_document(item))
        except DuplicateKeyError:
            return False
        return True

    async def get(self, item_id: str) -> BatchItem | None:
        """The item an event queued, if any."""
        document = await self._items.find_one({"_id": item_id})
        return _item_from(document) if document is not None else None

    async def queued(self, limit: int) -> list[BatchItem]:
        """Up to limit QUEUED items, oldest first."""
        documents = await (
            self._items.find({"status": BatchItemStatus.QUEUED.value})
            .sort([("created_at", 1), ("_id", 1)])
            .limit(limit)
            .to_list()
        )
        return [_item_from(document) for document in documents]

    async def claim(self, key: str, at: dt.datetime) -> bool:
        """Takes the claim named key; False when another holder (or this one) has it."""
        try:
            await self._claims.insert_one({"_id": key, "holder": self.holder, "at": at})
        except DuplicateKeyError:
            return False
        return True

    async def release(self, key: str) -> None:
        """Gives up this holder's claim named key; another holder's stays."""
        await self._claims.delete_one({"_id": key, "holder": self.holder})

    async def release_stale_claims(self, before: dt.datetime) -> int:
        """Drops the claims taken before the moment; how many there were."""
        result = await self._claims.delete_many({"at": {"$lt": before}})
        return result.deleted_count

    async def mark_submitted(
        self, item_id: str, submission: BatchSubmission, at: dt.datetime
    ) -> None:
        """SUBMITTED, with the batch, the model and the campaign the requests carried."""
        await self._items.update_one(
            {"_id": item_id},
            {
                "$set": {
                    "status": BatchItemStatus.SUBMITTED.value,
                    "batch_id": submission.batch_id,
                    "batch_index": submission.index,
                    "model": submission.model,
                    "campaign": _campaign_document(submission.campaign),
                    "chunk_size": submission.chunk_size,
                    "submitted_at": at,
                }
            },
        )

    async def submitted_batch_ids(self) -> list[str]:
        """The batches that still have SUBMITTED items."""
        ids = await self._items.distinct("batch_id", {"status": BatchItemStatus.SUBMITTED.value})
        return sorted(str(batch_id) for batch_id in ids)

    async def submitted_in(self, batch_id: str) -> list[BatchItem]:
        """The batch's items that are still SUBMITTED, in batch order."""
        documents = await (
            self._items.find({"batch_id": batch_id, "status": BatchItemStatus.SUBMITTED.value})
            .sort("batch_index", 1)
            .to_list()
        )
        return [_item_from(document) for document in documents]

    async def mark_done(self, item_id: str, outcome: str, at: dt.datetime) -> None:
        """DONE: "stored", or why the analysis failed."""
        await self._items.update_one(
            {"_id": item_id},
            {"$set": {"status": BatchItemStatus.DONE.value, "outcome": outcome, "done_at": at}},
        )


def _item_document(item: BatchItem) -> Document:
    return {
        "_id": item.id,
        "org_id": item.org_id,
        "call_id": item.call_id,
        "campaign_id": item.campaign_id,
        "transcript_version": item.transcript_version,
        "status": item.status.value,
        "model": item.model,
        "batch_id": None,
        "created_at": item.created_at,
    }


def _item_from(document: Document) -> BatchItem:
    submission = None
    if document.get("batch_id") and document.get("campaign") is not None:
        submission = BatchSubmission(
            batch_id=document["batch_id"],
            index=int(document["batch_index"]),
            model=document["model"],
            campaign=_campaign_from(document["campaign"]),
            chunk_size=int(document["chunk_size"]),
        )
    return BatchItem(
        id=str(document["_id"]),
        org_id=document["org_id"],
        call_id=document["call_id"],
        campaign_id=document["campaign_id"],
        transcript_version=int(document["transcript_version"]),
        created_at=_aware(document["created_at"]),
        status=BatchItemStatus(document["status"]),
        model=document.get("model", ""),
        submission=submission,
        outcome=document.get("outcome", ""),
    )


def _campaign_document(campaign: Campaign) -> Document:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "flag_threshold": campaign.flag_threshold,
        "evaluator": campaign.evaluator.value,
        "claude_model": campaign.claude_model,
        "checks": [check_to_document(check) for check in campaign.checks],
    }


def _campaign_from(document: Document) -> Campaign:
    return Campaign(
        id=document["id"],
        name=document["name"],
        flag_threshold=float(document["flag_threshold"]),
        checks=tuple(check_from_document(check) for check in document["checks"]),
        evaluator=EvaluatorKind(document["evaluator"]),
        claude_model=document.get("claude_model", ""),
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
