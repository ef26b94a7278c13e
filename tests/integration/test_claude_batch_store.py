"""The Message Batches queue on the real MongoDB-wire server: one item per event, exclusive
claims under concurrency, and the QUEUED → SUBMITTED → DONE transitions with the snapshot."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from callscope_analysis.adapters.mongo_batches import MongoBatchItemStore
from callscope_analysis.domain.batches import BatchItem, BatchItemStatus, BatchSubmission
from callscope_analysis.domain.model import (
    AnswerType,
    Campaign,
    Check,
    CheckWindow,
    EvaluatorKind,
    Speaker,
)
from callscope_common.mongo import Document
from pymongo.asynchronous.database import AsyncDatabase

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def scoped(database: AsyncDatabase[Document]) -> AsyncIterator[AsyncDatabase[Document]]:
    """A database of this test's own (the store's collection names are fixed), dropped after."""
    name = f"{database.name}_b{uuid.uuid4().hex[:8]}"
    yield database.client[name]
    await database.client.drop_database(name)


@pytest.fixture
async def store(scoped: AsyncDatabase[Document]) -> MongoBatchItemStore:
    batches = MongoBatchItemStore(scoped)
    await batches.ensure_indexes()
    return batches


def item(call_id: str, created_at: dt.datetime = NOW) -> BatchItem:
    return BatchItem(
        id=uuid.uuid4().hex,
        org_id="org-1",
        call_id=call_id,
        campaign_id="campaign-1",
        transcript_version=2,
        created_at=created_at,
        model="claude-haiku-4-5",
    )


CAMPAIGN = Campaign(
    id="campaign-1",
    name="Claude QA",
    flag_threshold=75.0,
    checks=(
        Check(
            id="empathy",
            name="Empathy",
            question="Did the agent acknowledge the problem?",
            category="Soft skills",
            weight=15.0,
            critical=False,
            speaker=Speaker.AGENT,
            phrases=("i am sorry",),
            window=CheckWindow.ANYWHERE,
            answer_type=AnswerType.YES_NO_NOT_APPLICABLE,
            keywords=("sorry",),
            applies_when=("complaint",),
        ),
        Check(id="identity", name="Identity", weight=25.0, critical=True),
    ),
    evaluator=EvaluatorKind.CLAUDE,
    claude_model="claude-sonnet-4-6",
)


async def test_an_event_queues_one_item_and_the_queue_lists_oldest_first(
    store: MongoBatchItemStore,
) -> None:
    later = item("call-2", NOW + dt.timedelta(seconds=5))
    first = item("call-1")

    assert await store.queue(later)
    assert await store.queue(first)
    assert not await store.queue(first)  # the redelivered event

    assert await store.get(first.id) == first
    assert await store.get("no-such-event") is None
    assert [i.id for i in await store.queued(10)] == [first.id, later.id]
    assert [i.id for i in await store.queued(1)] == [first.id]


async def test_of_simultaneous_claims_from_two_replicas_exactly_one_wins(
    scoped: AsyncDatabase[Document], store: MongoBatchItemStore
) -> None:
    other = MongoBatchItemStore(scoped)
    queued = item("call-1")
    await store.queue(queued)
    for round_number in range(5):
        key = f"{queued.id}-{round_number}"
        outcomes = await asyncio.gather(
            *(replica.claim(key, NOW) for replica in (store, other) for _ in range(5))
        )
        assert outcomes.count(True) == 1

    # Only the holder releases its claim.
    assert await store.claim("collect:batch-1", NOW)
    await other.release("collect:batch-1")
    assert not await other.claim("collect:batch-1", NOW)
    await store.release("collect:batch-1")
    assert await other.claim("collect:batch-1", NOW)


async def test_stale_claims_are_dropped_and_fresh_ones_kept(store: MongoBatchItemStore) -> None:
    assert await store.claim("old", NOW - dt.timedelta(hours=2))
    assert await store.claim("fresh", NOW)

    assert await store.release_stale_claims(NOW - dt.timedelta(hours=1)) == 1

    assert await store.claim("old", NOW)
    assert not await store.claim("fresh", NOW)


async def test_an_item_moves_from_queued_to_submitted_to_done_with_its_snapshot(
    store: MongoBatchItemStore,
) -> None:
    first, second, waiting = item("call-1"), item("call-2"), item("call-3")
    for queued in (first, second, waiting):
        await store.queue(queued)
    assert await store.submitted_batch_ids() == []

    for index, submitted in enumerate((second, first)):
        submission = BatchSubmission(
            batch_id="msgbatch_1",
            index=index,
            model="claude-sonnet-4-6",
            campaign=CAMPAIGN,
            chunk_size=15,
        )
        await store.mark_submitted(submitted.id, submission, NOW)

    assert [i.id for i in await store.queued(10)] == [waiting.id]
    assert await store.submitted_batch_ids() == ["msgbatch_1"]
    in_batch = await store.submitted_in("msgbatch_1")
    assert [i.id for i in in_batch] == [second.id, first.id]
    read = in_batch[1]
    assert read.status is BatchItemStatus.SUBMITTED
    assert read.submission == BatchSubmission("msgbatch_1", 1, "claude-sonnet-4-6", CAMPAIGN, 15)
    assert (read.transcript_version, read.created_at) == (2, NOW)

    await store.mark_done(second.id, "stored", NOW)
    await store.mark_done(first.id, "the campaign has no quality checks", NOW)

    assert await store.submitted_batch_ids() == []
    assert await store.submitted_in("msgbatch_1") == []
    done = await store.get(first.id)
    assert done is not None
    assert (done.status, done.outcome) == (
        BatchItemStatus.DONE,
        "the campaign has no quality checks",
    )
    assert done.submission is not None and done.submission.campaign == CAMPAIGN
