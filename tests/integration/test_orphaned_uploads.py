"""Job items whose ingest died mid-file are settled by the sweep (real MongoDB-wire server)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from callscope_common.mongo import Document
from callscope_ingest.adapters.mongo_jobs import MongoJobStore
from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.jobs import (
    ItemClaim,
    Job,
    JobItem,
    JobItemState,
    JobRejectedError,
    JobRejection,
)
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.job_handlers import begin_item_upload, recover_orphaned_uploads
from pymongo.asynchronous.database import AsyncDatabase

STARTED = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
STALE_AFTER_S = 900.0


async def test_orphaned_uploads_are_settled_and_live_ones_left_alone(
    jobs: MongoJobStore, database: AsyncDatabase[Document]
) -> None:
    job = Job(uuid.uuid4().hex, "org-1", "c1", UploadSource.BULK, CallMetadata(), STARTED)
    items = [JobItem(uuid.uuid4().hex, job.id, n, f"call{n}.wav", CallMetadata()) for n in range(3)]
    await jobs.create(job, items)
    died_before_the_call, died_after_the_call, alive = (item.id for item in items)
    for item in items:
        assert await jobs.claim_item(job.id, item.id, ItemClaim.UPLOAD) is None
        await jobs.start_upload(item.id, 0, STARTED)
        await jobs.record_progress(item.id, 1000, STARTED)
    await database["calls"].insert_one(
        {
            "_id": "call-stored",
            "job_id": job.id,
            "job_item_id": died_after_the_call,
            "audio": {"size_bytes": 4096},
            "status": "PENDING",
        }
    )
    now = STARTED + dt.timedelta(seconds=STALE_AFTER_S + 1)
    await jobs.record_progress(alive, 2000, now - dt.timedelta(seconds=5))

    settled = await recover_orphaned_uploads(jobs, STALE_AFTER_S, now)

    assert settled >= 2
    by_id = {item.id: item for item in await jobs.items(job.id)}
    waiting = by_id[died_before_the_call]
    assert (waiting.state, waiting.bytes_received) == (JobItemState.WAITING, 0)
    uploaded = by_id[died_after_the_call]
    assert (uploaded.state, uploaded.call_id, uploaded.bytes_received) == (
        JobItemState.UPLOADED,
        "call-stored",
        4096,
    )
    assert by_id[alive].state is JobItemState.UPLOADING
    # The freed item can be claimed again; the others keep their upload's claim.
    assert await jobs.claim_item(job.id, died_before_the_call, ItemClaim.UPLOAD) is None
    assert await jobs.claim_item(job.id, died_after_the_call, ItemClaim.UPLOAD) is ItemClaim.UPLOAD
    assert await jobs.claim_item(job.id, alive, ItemClaim.UPLOAD) is ItemClaim.UPLOAD
    assert await recover_orphaned_uploads(jobs, STALE_AFTER_S, now) == 0


async def test_a_send_of_an_item_held_by_a_dead_upload_is_retriable_until_the_sweep_frees_it(
    jobs: MongoJobStore,
) -> None:
    job = Job(uuid.uuid4().hex, "org-1", "c1", UploadSource.BULK, CallMetadata(), STARTED)
    item = JobItem(uuid.uuid4().hex, job.id, 0, "call0.wav", CallMetadata())
    await jobs.create(job, [item])
    # The ingest that took the file died after its first bytes.
    assert await jobs.claim_item(job.id, item.id, ItemClaim.UPLOAD) is None
    await jobs.start_upload(item.id, 0, STARTED)
    await jobs.record_progress(item.id, 1000, STARTED)

    async def send() -> None:
        upload = await begin_item_upload(
            jobs, org_id="org-1", campaign_id="c1", job_id=job.id, item_id=item.id, declared_size=0
        )
        await upload.abandoned()

    with pytest.raises(JobRejectedError) as held:
        await send()
    assert held.value.code is JobRejection.ITEM_IN_FLIGHT
    assert "call0.wav" in held.value.message

    now = STARTED + dt.timedelta(seconds=STALE_AFTER_S + 1)
    assert await recover_orphaned_uploads(jobs, STALE_AFTER_S, now) >= 1
    await send()  # taken by the new send (then given up, which frees it again)
    assert [i.state for i in await jobs.items(job.id)] == [JobItemState.WAITING]


async def test_a_send_of_an_item_whose_file_arrived_names_its_call(jobs: MongoJobStore) -> None:
    job = Job(uuid.uuid4().hex, "org-1", "c1", UploadSource.BULK, CallMetadata(), STARTED)
    item = JobItem(uuid.uuid4().hex, job.id, 0, "call0.wav", CallMetadata())
    await jobs.create(job, [item])
    assert await jobs.claim_item(job.id, item.id, ItemClaim.UPLOAD) is None
    await jobs.start_upload(item.id, 0, STARTED)
    await jobs.finish_upload(item.id, "call-kept", 4096, STARTED)

    with pytest.raises(JobRejectedError) as taken:
        await begin_item_upload(
            jobs, org_id="org-1", campaign_id="c1", job_id=job.id, item_id=item.id, declared_size=0
        )
    assert taken.value.code is JobRejection.ITEM_ALREADY_UPLOADED
    assert "call-kept" in taken.value.message


async def test_a_claim_left_on_an_item_already_back_to_waiting_is_freed(
    jobs: MongoJobStore,
) -> None:
    job = Job(uuid.uuid4().hex, "org-1", "c1", UploadSource.BULK, CallMetadata(), STARTED)
    item = JobItem(uuid.uuid4().hex, job.id, 0, "call0.wav", CallMetadata())
    await jobs.create(job, [item])
    # An ingest put the item back to WAITING and died before freeing its claim.
    assert await jobs.claim_item(job.id, item.id, ItemClaim.UPLOAD) is None
    await jobs.reset_upload(item.id, STARTED)

    with pytest.raises(JobRejectedError) as held:
        await begin_item_upload(
            jobs, org_id="org-1", campaign_id="c1", job_id=job.id, item_id=item.id, declared_size=0
        )
    assert held.value.code is JobRejection.ITEM_IN_FLIGHT

    # Claims are stamped with the real time: a young one is left alone (an upload may be
    # about to start), an old one is freed.
    now = dt.datetime.now(dt.UTC)
    assert item.id not in await jobs.stray_upload_claims(now - dt.timedelta(seconds=60), 200)
    later = now + dt.timedelta(seconds=STALE_AFTER_S + 1)
    assert await recover_orphaned_uploads(jobs, STALE_AFTER_S, later) >= 1
    assert await jobs.claim_item(job.id, item.id, ItemClaim.UPLOAD) is None  # free again
