"""The job store on the real MongoDB-wire server: unique claims, the cancel sweep, the counts."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from callscope_common.mongo import Document
from callscope_ingest.adapters.mongo_jobs import MongoJobStore
from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.jobs import ItemClaim, Job, JobCursor, JobItem, JobItemState
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from pymongo.asynchronous.database import AsyncDatabase

NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


async def new_job(
    store: MongoJobStore, items: int, *, campaign: str = "c1", at: dt.datetime = NOW
) -> tuple[Job, list[JobItem]]:
    job = Job(uuid.uuid4().hex, "org-1", campaign, UploadSource.BULK, CallMetadata(), at)
    planned = [
        JobItem(uuid.uuid4().hex, job.id, n, f"call{n}.mp3", CallMetadata(agent_code=f"A{n}"))
        for n in range(items)
    ]
    await store.create(job, planned)
    return job, planned


async def test_of_many_simultaneous_claims_on_an_item_exactly_one_wins(
    jobs: MongoJobStore,
) -> None:
    job, items = await new_job(jobs, 1)
    for _ in range(5):
        outcomes = await asyncio.gather(
            *(jobs.claim_item(job.id, items[0].id, ItemClaim.UPLOAD) for _ in range(10))
        )
        assert outcomes.count(None) == 1
        assert set(outcomes) == {None, ItemClaim.UPLOAD}
        await jobs.release_item(items[0].id)


async def test_the_cancel_sweep_leaves_an_item_in_flight_to_its_upload(
    jobs: MongoJobStore,
) -> None:
    job, items = await new_job(jobs, 3)
    assert await jobs.claim_item(job.id, items[0].id, ItemClaim.UPLOAD) is None
    assert await jobs.claim_cancellation(job.id, NOW)
    assert not await jobs.claim_cancellation(job.id, NOW)
    await jobs.mark_cancelled(job.id, NOW)
    assert await jobs.cancel_waiting_items(job.id, NOW) == 2
    states = [item.state for item in await jobs.items(job.id)]
    assert states == [JobItemState.WAITING, JobItemState.CANCELLED, JobItemState.CANCELLED]
    assert await jobs.claim_item(job.id, items[1].id, ItemClaim.UPLOAD) is ItemClaim.CANCEL
    stored = await jobs.get("org-1", job.id)
    assert stored is not None and stored.cancelled_at == NOW
    assert await jobs.get("org-2", job.id) is None


async def test_an_items_upload_states_and_progress_are_stored(jobs: MongoJobStore) -> None:
    job, items = await new_job(jobs, 2)
    first, second = (item.id for item in items)
    await jobs.start_upload(first, 0, NOW)
    await jobs.record_progress(first, 1024, NOW + dt.timedelta(seconds=1))
    await jobs.finish_upload(first, "call-1", 2048, NOW + dt.timedelta(seconds=2))
    await jobs.start_upload(second, 4096, NOW)
    await jobs.reject_upload(second, "too_short", "at least 10 s", NOW)
    done, refused = await jobs.items(job.id)
    assert (done.state, done.call_id, done.bytes_received, done.size_bytes) == (
        JobItemState.UPLOADED,
        "call-1",
        2048,
        2048,
    )
    assert done.bytes_per_second(NOW + dt.timedelta(hours=1)) == 1024
    assert (refused.state, refused.error_code, refused.size_bytes) == (
        JobItemState.REJECTED,
        "too_short",
        4096,
    )
    await jobs.start_upload(second, 0, NOW)
    await jobs.reset_upload(second, NOW)
    item = await jobs.item(job.id, second)
    assert item is not None
    assert (item.state, item.bytes_received, item.upload_started_at, item.error_code) == (
        JobItemState.WAITING,
        0,
        None,
        "",
    )


async def test_tallies_count_items_and_the_jobs_calls_in_the_database(
    jobs: MongoJobStore, database: AsyncDatabase[Document]
) -> None:
    job, items = await new_job(jobs, 4)
    other, _ = await new_job(jobs, 1)
    await jobs.start_upload(items[0].id, 0, NOW)
    await jobs.finish_upload(items[0].id, "x", 1, NOW)
    await jobs.start_upload(items[1].id, 0, NOW)
    await jobs.reject_upload(items[1].id, "empty_file", "empty", NOW)
    await database["calls"].insert_many(
        [
            {"_id": uuid.uuid4().hex, "job_id": job.id, "job_item_id": items[0].id, "status": s}
            for s in (CallStatus.COMPLETED.value, CallStatus.FAILED.value)
        ]
    )
    tallies = await jobs.tallies([job.id, other.id])
    assert dict(tallies[job.id].items) == {
        JobItemState.UPLOADED: 1,
        JobItemState.REJECTED: 1,
        JobItemState.WAITING: 2,
    }
    assert dict(tallies[job.id].calls) == {CallStatus.COMPLETED: 1, CallStatus.FAILED: 1}
    assert dict(tallies[other.id].items) == {JobItemState.WAITING: 1}
    assert dict(tallies[other.id].calls) == {}


async def test_a_campaigns_jobs_page_newest_first(jobs: MongoJobStore) -> None:
    campaign = uuid.uuid4().hex
    made = [
        (await new_job(jobs, 1, campaign=campaign, at=NOW + dt.timedelta(minutes=n)))[0].id
        for n in range(5)
    ]
    first = await jobs.page("org-1", campaign, 3, None)
    assert [job.id for job in first] == made[::-1][:3]
    rest = await jobs.page("org-1", campaign, 3, JobCursor(first[-1].created_at, first[-1].id))
    assert [job.id for job in rest] == made[::-1][3:]
    assert await jobs.page("org-2", campaign, 3, None) == []
