"""MongoDB storage of calls (collection `calls`, owned by ingest only)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

from callscope_common.events import EncodedEvent
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from callscope_ingest.domain.call_queries import CallQuery, FlagFilter, PageCursor, ReviewFilter
from callscope_ingest.domain.call_summary import AgentKey, SummaryRow
from callscope_ingest.domain.calls import (
    AgentLink,
    AgentLinkMethod,
    Call,
    CallResult,
    CallReview,
    Failure,
    StoredAudio,
    UploadSource,
)
from callscope_ingest.domain.duplicates import Fingerprint
from callscope_ingest.domain.hand_over import HandOver
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus, statuses_allowing
from callscope_ingest.domain.watchdog import WATCHED_STATUSES

Document = dict[str, Any]


class MongoCallStore:
    """Calls as documents keyed by call id."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._calls: AsyncCollection[Document] = database["calls"]
        self._queue_claims: AsyncCollection[Document] = database["call_queue_claims"]

    async def ensure_indexes(self) -> None:
        """Indexes for listing a campaign's calls and finding duplicates."""
        await self._calls.create_index([("org_id", 1), ("campaign_id", 1), ("created_at", -1)])
        # A job's counts and its items' call statuses are read by job id.
        await self._calls.create_index("job_id")
        await self._calls.create_index([("org_id", 1), ("created_at", -1)])
        # A repeated upload is found by the sender's id for the file. Not unique: calls
        # without one all have "", and the sender keeps two replicas from sending one
        # file at once (see handlers.earlier_upload).
        await self._calls.create_index([("org_id", 1), ("source_ref", 1)])
        # The relay looks for hand-overs the broker does not have yet, the watchdog for
        # runs that stopped moving.
        await self._calls.create_index([("hand_over.published", 1), ("hand_over.stored_at", 1)])
        await self._calls.create_index([("status", 1), ("updated_at", 1)])

    async def insert(self, call: Call) -> None:
        """Stores a new call."""
        await self._calls.insert_one(_to_document(call))

    async def get(self, org_id: str, call_id: str) -> Call | None:
        """The call with this id in this organisation, if any."""
        document = await self._calls.find_one({"_id": call_id, "org_id": org_id})
        return _from_document(document) if document else None

    async def exists(self, call_id: str) -> bool:
        """Whether a call with this id exists in any organisation."""
        return await self._calls.count_documents({"_id": call_id}, limit=1) > 0

    async def find_by_source_ref(self, org_id: str, source_ref: str) -> Call | None:
        """The organisation's call made from the upload with this source_ref, if any."""
        document = await self._calls.find_one(
            {"org_id": org_id, "source_ref": source_ref}, sort=[("created_at", 1)]
        )
        return _from_document(document) if document else None

    async def move_status(
        self,
        call_id: str,
        target: CallStatus,
        at: dt.datetime,
        *,
        result: CallResult | None = None,
        failure: Failure | None = None,
    ) -> bool:
        """One conditional update, so concurrent or replayed events cannot move a call back."""
        allowed = [status.value for status in statuses_allowing(target)]
        changes: Document = {"status": target.value, "updated_at": at}
        if result is not None:
            changes["result"] = dataclasses.asdict(result)
            # A new result is a new thing to look at: the review mark was for the old one.
            changes["review"] = None
        if failure is not None:
            changes["failure"] = dataclasses.asdict(failure)
        outcome = await self._calls.update_one(
            {"_id": call_id, "status": {"$in": allowed}},
            {"$set": changes, "$push": {"status_history": {"status": target.value, "at": at}}},
        )
        return outcome.modified_count == 1

    async def delete(self, call_id: str) -> None:
        """Removes a call."""
        await self._calls.delete_one({"_id": call_id})

    async def mark_queued(self, call_id: str, at: dt.datetime, hand_over: HandOver) -> bool:
        """Queues the call once, even when two requests race.

        A conditional update alone is not enough: FerretDB's SQLite backend can let
        two concurrent `update_one`s both match. The unique `_id` of a claim document
        is enforced by the storage engine itself, so exactly one request wins.
        """
        try:
            await self._queue_claims.insert_one({"_id": call_id, "at": at})
        except DuplicateKeyError:
            return False
        outcome = await self._calls.update_one(
            {"_id": call_id, "status": CallStatus.PENDING.value, "queued_at": None},
            {
                "$set": {
                    "queued_at": at,
                    "updated_at": at,
                    "hand_over": _hand_over_document(hand_over),
                }
            },
        )
        if outcome.modified_count != 1:
            await self._queue_claims.delete_one({"_id": call_id})
            return False
        return True

    async def list(self, query: CallQuery) -> tuple[list[Call], PageCursor | None]:
        """One page, newest first; reads one call more than the page to know if another follows."""
        documents = await (
            self._calls.find(_filter(query))
            .sort([("created_at", -1), ("_id", -1)])
            .limit(query.page_size + 1)
            .to_list()
        )
        calls = [_from_document(document) for document in documents[: query.page_size]]
        if len(documents) <= query.page_size:
            return calls, None
        last = calls[-1]
        return calls, PageCursor(last.created_at, last.id)

    async def count(self, query: CallQuery) -> int:
        """How many calls match the query's filters (its page fields are ignored)."""
        unpaged = dataclasses.replace(query, after=None)
        return await self._calls.count_documents(_filter(unpaged))

    async def summary_rows(self, query: CallQuery, limit: int) -> AsyncIterator[SummaryRow]:
        """A projection scan, newest first, read in batches.

        Aggregation stays in Python (domain/call_summary.py): FerretDB 1.x lacks several
        $group accumulators, and summing in one pass keeps memory to one batch.
        """
        unpaged = dataclasses.replace(query, after=None)
        cursor = (
            self._calls.find(_filter(unpaged), _SUMMARY_PROJECTION)
            .sort([("created_at", -1), ("_id", -1)])
            .limit(limit)
            .batch_size(_SUMMARY_BATCH)
        )
        async for document in cursor:
            yield _summary_row(document)

    async def update_details(
        self, call_id: str, metadata: CallMetadata, agent: AgentLink | None, at: dt.datetime
    ) -> None:
        """Replaces the call's metadata and agent link."""
        await self._calls.update_one(
            {"_id": call_id},
            {
                "$set": {
                    "metadata": dataclasses.asdict(metadata),
                    "agent": dataclasses.asdict(agent) if agent else None,
                    "updated_at": at,
                }
            },
        )

    async def replace_result(self, call_id: str, result: CallResult, at: dt.datetime) -> bool:
        """Replaces an older result (and clears the review mark); the version condition keeps
        a redelivered or late event from putting an older result back."""
        outcome = await self._calls.update_one(
            {"_id": call_id, "result.analysis_version": {"$lt": result.analysis_version}},
            {"$set": {"result": dataclasses.asdict(result), "review": None, "updated_at": at}},
        )
        return outcome.modified_count == 1

    async def mark_reviewed(self, call_id: str, review: CallReview) -> bool:
        """Sets the review mark on a COMPLETED call still holding the reviewed version."""
        outcome = await self._calls.update_one(
            {
                "_id": call_id,
                "status": CallStatus.COMPLETED.value,
                "result.analysis_version": review.analysis_version,
            },
            {"$set": {"review": dataclasses.asdict(review), "updated_at": review.reviewed_at}},
        )
        return outcome.modified_count == 1

    async def claim_rerun(self, call_id: str, run: int) -> bool:
        """A unique claim document per run: of two simultaneous re-runs, one wins."""
        try:
            await self._queue_claims.insert_one(
                {"_id": f"{call_id}:run:{run}", "call_id": call_id, "at": dt.datetime.now(dt.UTC)}
            )
        except DuplicateKeyError:
            return False
        return True

    async def release_rerun(self, call_id: str, run: int) -> None:
        """Removes the claim of run `run`, so that the run can be claimed again."""
        await self._queue_claims.delete_one({"_id": f"{call_id}:run:{run}"})

    async def restart(
        self,
        call_id: str,
        from_statuses: frozenset[CallStatus],
        at: dt.datetime,
        hand_over: HandOver,
    ) -> bool:
        """Back to PENDING and queued with the new run's hand-over, the failure cleared; the
        last result stays until replaced."""
        outcome = await self._calls.update_one(
            {"_id": call_id, "status": {"$in": [status.value for status in from_statuses]}},
            {
                "$set": {
                    "status": CallStatus.PENDING.value,
                    "failure": None,
                    "queued_at": at,
                    "updated_at": at,
                    "hand_over": _hand_over_document(hand_over),
                },
                "$inc": {"reruns": 1},
                "$push": {"status_history": {"status": CallStatus.PENDING.value, "at": at}},
            },
        )
        return outcome.modified_count == 1

    async def mark_handed_over(self, call_id: str, event_id: str) -> None:
        """Notes that the broker has the call's hand-over record (if still the current one)."""
        await self._calls.update_one(
            {"_id": call_id, "hand_over.event_id": event_id},
            {"$set": {"hand_over.published": True}},
        )

    async def unpublished(self, stored_before: dt.datetime, limit: int) -> Sequence[Call]:
        """Calls whose hand-over the broker may not have, stored before the time, oldest first."""
        cursor = self._calls.find(
            {"hand_over.published": False, "hand_over.stored_at": {"$lt": stored_before}},
            sort=[("hand_over.stored_at", 1)],
            limit=limit,
        )
        return [_from_document(document) async for document in cursor]

    async def unmoved(self, since: dt.datetime, limit: int) -> Sequence[Call]:
        """Queued calls in the pipeline whose status has not changed since the time."""
        cursor = self._calls.find(
            {
                "status": {"$in": [status.value for status in WATCHED_STATUSES]},
                "queued_at": {"$ne": None},
                "updated_at": {"$lt": since},
            },
            sort=[("updated_at", 1)],
            limit=limit,
        )
        return [_from_document(document) async for document in cursor]

    async def note_redrive(self, call: Call, at: dt.datetime) -> bool:
        """Counts one more re-drive of the call's run if nobody moved or re-drove it since it
        was read; False when something did (the watchdog then leaves it alone this round)."""
        assert call.hand_over is not None
        outcome = await self._calls.update_one(
            {
                "_id": call.id,
                "status": call.status.value,
                "updated_at": call.updated_at,
                "hand_over.event_id": call.hand_over.event_id,
                "hand_over.redrives": call.hand_over.redrives,
            },
            {"$set": {"updated_at": at, "hand_over.redrives": call.hand_over.redrives + 1}},
        )
        return outcome.modified_count == 1

    async def forget_claims(self, call_id: str) -> None:
        """Removes the call's queue and re-run claims."""
        await self._queue_claims.delete_many({"$or": [{"_id": call_id}, {"call_id": call_id}]})


def _filter(query: CallQuery) -> Document:
    """The MongoDB filter of a query; every filter includes the organisation."""
    conditions: list[Document] = [{"org_id": query.org_id}]
    if query.campaign_id:
        conditions.append({"campaign_id": query.campaign_id})
    if query.campaign_ids:
        conditions.append({"campaign_id": {"$in": sorted(query.campaign_ids)}})
    if query.statuses:
        conditions.append({"status": {"$in": sorted(status.value for status in query.statuses)}})
    if query.sources:
        conditions.append({"source": {"$in": sorted(source.value for source in query.sources)}})
    if query.agent_id:
        conditions.append({"agent.agent_id": query.agent_id})
    if query.created_from is not None:
        conditions.append({"created_at": {"$gte": query.created_from}})
    if query.created_to is not None:
        conditions.append({"created_at": {"$lt": query.created_to}})
    if query.flagged is not FlagFilter.ANY:
        conditions.append({"result.flagged": query.flagged is FlagFilter.FLAGGED})
    if query.review is ReviewFilter.UNREVIEWED:
        # Matches a null mark and calls stored before marks existed (no field at all).
        conditions.append({"review": None})
    elif query.review is ReviewFilter.REVIEWED:
        conditions.append({"review": {"$ne": None}})
    if query.job_id:
        conditions.append({"job_id": query.job_id})
    if query.after is not None:
        conditions.append(
            {
                "$or": [
                    {"created_at": {"$lt": query.after.created_at}},
                    {"created_at": query.after.created_at, "_id": {"$lt": query.after.call_id}},
                ]
            }
        )
    return {"$and": conditions}


# Only what a summary reads: whole subdocuments, as FerretDB 1.x projects them reliably.
_SUMMARY_PROJECTION = {"_id": 0, "created_at": 1, "result": 1, "agent": 1, "review": 1}
_SUMMARY_BATCH = 1000


def _summary_row(document: Document) -> SummaryRow:
    result = document.get("result")
    agent = document.get("agent")
    return SummaryRow(
        created_at=document["created_at"],
        score=float(result["score"]) if result else None,
        flagged=bool(result["flagged"]) if result else False,
        agent=AgentKey(agent["agent_id"], agent["code"], agent["name"]) if agent else None,
        reviewed=bool(document.get("review")),
    )


def _to_document(call: Call) -> Document:
    return {
        "_id": call.id,
        "org_id": call.org_id,
        "campaign_id": call.campaign_id,
        "source": call.source.value,
        "file_name": call.file_name,
        "metadata": dataclasses.asdict(call.metadata),
        "audio": dataclasses.asdict(call.audio) if call.audio else None,
        "duration_s": call.duration_s,
        "channels": call.channels,
        "status": call.status.value,
        "created_at": call.created_at,
        "updated_at": call.updated_at,
        "result": dataclasses.asdict(call.result) if call.result else None,
        "failure": dataclasses.asdict(call.failure) if call.failure else None,
        "duplicate_of": call.duplicate_of,
        "duplicate_reason": call.duplicate_reason,
        "queued_at": call.queued_at,
        "status_history": [{"status": s.value, "at": at} for s, at in call.status_history],
        "agent": dataclasses.asdict(call.agent) if call.agent else None,
        "job_id": call.job_id,
        "job_item_id": call.job_item_id,
        "reruns": call.reruns,
        "source_ref": call.source_ref,
        "review": dataclasses.asdict(call.review) if call.review else None,
        "hand_over": _hand_over_document(call.hand_over) if call.hand_over else None,
    }


def _from_document(document: Document) -> Call:
    result = document.get("result")
    failure = document.get("failure")
    return Call(
        id=document["_id"],
        org_id=document["org_id"],
        campaign_id=document["campaign_id"],
        source=UploadSource(document["source"]),
        file_name=document["file_name"],
        metadata=CallMetadata(**document.get("metadata", {})),
        audio=StoredAudio(**document["audio"]) if document.get("audio") else None,
        duration_s=document["duration_s"],
        channels=document["channels"],
        status=CallStatus(document["status"]),
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        result=CallResult(
            score=result["score"],
            flagged=result["flagged"],
            flag_reasons=tuple(result["flag_reasons"]),
            analysis_version=result["analysis_version"],
            transcript_version=result["transcript_version"],
        )
        if result
        else None,
        failure=Failure(**failure) if failure else None,
        duplicate_of=document.get("duplicate_of", ""),
        duplicate_reason=document.get("duplicate_reason", ""),
        queued_at=document.get("queued_at"),
        status_history=tuple(
            (CallStatus(entry["status"]), entry["at"])
            for entry in document.get("status_history", [])
        ),
        agent=_agent_link(document.get("agent")),
        job_id=document.get("job_id", ""),
        job_item_id=document.get("job_item_id", ""),
        reruns=document.get("reruns", 0),
        source_ref=document.get("source_ref", ""),
        review=CallReview(**document["review"]) if document.get("review") else None,
        hand_over=_hand_over(document["hand_over"]) if document.get("hand_over") else None,
    )


def _hand_over_document(hand_over: HandOver) -> Document:
    record = hand_over.record
    return {
        "event_id": hand_over.event_id,
        "topic": record.topic,
        "key": record.key,
        "value": record.value,
        # Documents, not pairs: FerretDB keeps no arrays inside arrays.
        "headers": [{"name": name, "value": value} for name, value in record.headers],
        "stored_at": hand_over.stored_at,
        "published": hand_over.published,
        "redrives": hand_over.redrives,
    }


def _hand_over(document: Document) -> HandOver:
    return HandOver(
        event_id=document["event_id"],
        record=EncodedEvent(
            topic=document["topic"],
            key=bytes(document["key"]),
            value=bytes(document["value"]),
            headers=[(header["name"], bytes(header["value"])) for header in document["headers"]],
        ),
        stored_at=document["stored_at"],
        published=document["published"],
        redrives=document.get("redrives", 0),
    )


def _agent_link(document: Document | None) -> AgentLink | None:
    if not document:
        return None
    return AgentLink(
        agent_id=document["agent_id"],
        code=document["code"],
        name=document["name"],
        method=AgentLinkMethod(document["method"]),
    )


class MongoFingerprintStore:
    """Call fingerprints keyed by their value (collection `call_fingerprints`, ingest's own).

    The document id is the fingerprint, so MongoDB's unique `_id` decides which of
    two simultaneous uploads is the original.
    """

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._fingerprints: AsyncCollection[Document] = database["call_fingerprints"]

    async def ensure_indexes(self) -> None:
        """Releasing a call's fingerprints looks them up by call id."""
        await self._fingerprints.create_index("call_id")

    async def claim(self, fingerprint: Fingerprint, call_id: str) -> str | None:
        """Claims the fingerprint for call_id; the id of the call holding it, if taken."""
        document = {
            "_id": fingerprint.key,
            "call_id": call_id,
            "rule": fingerprint.rule.value,
            "created_at": dt.datetime.now(dt.UTC),
        }
        for _ in range(3):
            try:
                await self._fingerprints.insert_one(document)
            except DuplicateKeyError:
                holder = await self._fingerprints.find_one({"_id": fingerprint.key})
                if holder is not None:
                    return str(holder["call_id"])
                continue  # released in between: try to claim it again
            return None
        raise RuntimeError(f"fingerprint {fingerprint.key!r} keeps changing hands")

    async def take_over(
        self, fingerprint: Fingerprint, holder: str, call_id: str, claimed_before: dt.datetime
    ) -> bool:
        """Deletes holder's claim if it is older than the time, then claims it: of two
        takers, the unique `_id` lets one in."""
        await self._fingerprints.delete_one(
            {"_id": fingerprint.key, "call_id": holder, "created_at": {"$lt": claimed_before}}
        )
        return await self.claim(fingerprint, call_id) is None

    async def release(self, call_id: str) -> None:
        """Frees every fingerprint a call holds."""
        await self._fingerprints.delete_many({"call_id": call_id})

    async def held_by(self, call_id: str) -> frozenset[str]:
        """The keys of the fingerprints the call holds."""
        rows = await self._fingerprints.find({"call_id": call_id}, {"_id": 1}).to_list()
        return frozenset(str(row["_id"]) for row in rows)

    async def release_keys(self, call_id: str, keys: frozenset[str]) -> None:
        """Frees some of the call's fingerprints (never another call's)."""
        if keys:
            await self._fingerprints.delete_many({"_id": {"$in": sorted(keys)}, "call_id": call_id})
