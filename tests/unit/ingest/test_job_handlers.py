"""Job use cases against an in-memory job store: creation, claims, upload outcomes, cancel."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
from callscope_ingest import job_handlers
from callscope_ingest.domain.calls import Call, UploadSource
from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError
from callscope_ingest.domain.jobs import (
    ItemClaim,
    Job,
    JobCursor,
    JobFile,
    JobItem,
    JobItemState,
    JobNotFoundError,
    JobRejectedError,
    JobRejection,
    JobReport,
    JobStatus,
    JobTally,
)
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.job_handlers import CreateJob, ItemUpload

S = JobItemState


class InMemoryJobStore:
    """The JobStore port in memory; claims are a dict, as unique as the database's _id."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.by_id: dict[str, JobItem] = {}
        self.claims: dict[str, ItemClaim | str] = {}
        self.call_status: dict[str, CallStatus] = {}
        self.progress: list[int] = []

    async def create(self, job: Job, items: Sequence[JobItem]) -> None:
        self.jobs[job.id] = job
        self.by_id.update({item.id: item for item in items})

    async def get(self, org_id: str, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return job if job is not None and job.org_id == org_id else None

    async def page(
        self, org_id: str, campaign_id: str, limit: int, after: JobCursor | None
    ) -> list[Job]:
        found = sorted(
            (j for j in self.jobs.values() if (j.org_id, j.campaign_id) == (org_id, campaign_id)),
            key=lambda j: (j.created_at, j.id),
            reverse=True,
        )
        if after is not None:
            found = [j for j in found if (j.created_at, j.id) < (after.created_at, after.job_id)]
        return found[:limit]

    async def items(self, job_id: str) -> list[JobItem]:
        return [
            dataclasses.replace(item, call_status=self.call_status.get(item.id))
            for item in sorted(self.by_id.values(), key=lambda i: i.position)
            if item.job_id == job_id
        ]

    async def item(self, job_id: str, item_id: str) -> JobItem | None:
        item = self.by_id.get(item_id)
        return item if item is not None and item.job_id == job_id else None

    async def tallies(self, job_ids: Sequence[str]) -> dict[str, JobTally]:
        result = {}
        for job_id in job_ids:
            items = await self.items(job_id)
            result[job_id] = JobTally(
                Counter(i.state for i in items),
                Counter(i.call_status for i in items if i.call_status),
            )
        return result

    async def claim_item(self, job_id: str, item_id: str, claim: ItemClaim) -> ItemClaim | None:
        holder = self.claims.get(item_id)
        if holder is not None:
            return ItemClaim(holder)
        self.claims[item_id] = claim
        return None

    async def release_item(self, item_id: str) -> None:
        self.claims.pop(item_id, None)

    def _set(self, item_id: str, **changes: object) -> None:
        self.by_id[item_id] = dataclasses.replace(self.by_id[item_id], **changes)  # type: ignore[arg-type]

    async def start_upload(self, item_id: str, size_bytes: int, at: dt.datetime) -> None:
        size = size_bytes or self.by_id[item_id].size_bytes
        self._set(
            item_id, state=S.UPLOADING, bytes_received=0, upload_started_at=at, size_bytes=size
        )

    async def record_progress(self, item_id: str, bytes_received: int, at: dt.datetime) -> None:
        self.progress.append(bytes_received)
        self._set(item_id, bytes_received=bytes_received, progress_at=at)

    async def finish_upload(
        self, item_id: str, call_id: str, bytes_received: int, at: dt.datetime
    ) -> None:
        self._set(item_id, state=S.UPLOADED, call_id=call_id, bytes_received=bytes_received)

    async def reject_upload(self, item_id: str, code: str, message: str, at: dt.datetime) -> None:
        self._set(item_id, state=S.REJECTED, error_code=code, error_message=message)

    async def reset_upload(self, item_id: str, at: dt.datetime) -> None:
        self._set(item_id, state=S.WAITING, bytes_received=0, upload_started_at=None)

    async def stale_uploads(self, progress_before: dt.datetime, limit: int) -> list[JobItem]:
        stale = [
            item
            for item in self.by_id.values()
            if item.state is S.UPLOADING
            and item.progress_at is not None
            and item.progress_at < progress_before
        ]
        return stale[:limit]

    async def call_of_item(self, job_id: str, item_id: str) -> tuple[str, int] | None:
        return None  # the database-backed store looks into calls: tests/integration

    async def stray_upload_claims(self, claimed_before: dt.datetime, limit: int) -> list[str]:
        return []  # claims carry no time here: tests/integration

    async def cancel_item(self, item_id: str, at: dt.datetime) -> None:
        self.claims[item_id] = ItemClaim.CANCEL
        self._set(item_id, state=S.CANCELLED)

    async def claim_cancellation(self, job_id: str, at: dt.datetime) -> bool:
        key = f"cancel:{job_id}"
        if key in self.claims:
            return False
        self.claims[key] = "JOB"
        return True

    async def mark_cancelled(self, job_id: str, at: dt.datetime) -> None:
        self.jobs[job_id] = dataclasses.replace(self.jobs[job_id], cancelled_at=at)

    async def cancel_waiting_items(self, job_id: str, at: dt.datetime) -> int:
        cancelled = 0
        for item in await self.items(job_id):
            if (
                item.state is S.WAITING
                and await self.claim_item(job_id, item.id, ItemClaim.CANCEL) is None
            ):
                self._set(item.id, state=S.CANCELLED)
                cancelled += 1
        return cancelled


ORG, CAMPAIGN = "org-1", "campaign-1"
BATCH_METADATA = CallMetadata(agent_code="JS001", call_type="outbound")


@pytest.fixture
def store() -> InMemoryJobStore:
    return InMemoryJobStore()


async def ui_job(store: InMemoryJobStore, files: int = 3) -> JobReport:
    command = CreateJob(
        ORG,
        CAMPAIGN,
        UploadSource.UI,
        tuple(JobFile(f"call{n}.mp3", 1000) for n in range(files)),
        BATCH_METADATA,
    )
    report, preview = await job_handlers.create_job(command, store)
    assert preview is None
    return report


async def begin(
    store: InMemoryJobStore, job_id: str, item_id: str, *, org: str = ORG, campaign: str = ""
) -> ItemUpload:
    return await job_handlers.begin_item_upload(
        store, org_id=org, campaign_id=campaign, job_id=job_id, item_id=item_id, declared_size=0
    )


def a_call(command_job_item: str, status: CallStatus = CallStatus.PENDING) -> Call:
    now = dt.datetime.now(dt.UTC)
    return Call(
        id=f"call-{command_job_item}",
        org_id=ORG,
        campaign_id=CAMPAIGN,
        source=UploadSource.UI,
        file_name="x.mp3",
        metadata=CallMetadata(),
        audio=None,
        duration_s=12.0,
        channels=1,
        status=status,
        created_at=now,
        updated_at=now,
    )


async def chunks(*sizes: int) -> AsyncIterator[bytes]:
    for size in sizes:
        yield b"x" * size


# -- creating --------------------------------------------------------------------------------


async def test_a_multi_file_job_is_queued_with_normalised_batch_metadata(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store)
    assert report.status is JobStatus.QUEUED
    assert report.counts.total == 3
    assert [item.state for item in report.items] == [S.WAITING] * 3
    assert all(item.metadata.call_type == "OUTBOUND" for item in report.items)
    assert store.jobs[report.job.id].metadata.call_type == "OUTBOUND"


async def test_invalid_batch_metadata_creates_nothing(store: InMemoryJobStore) -> None:
    command = CreateJob(
        ORG, CAMPAIGN, UploadSource.UI, (JobFile("a.mp3"),), CallMetadata(call_date="15/01/2026")
    )
    with pytest.raises(UploadRejectedError) as refused:
        await job_handlers.create_job(command, store)
    assert refused.value.code is RejectionCode.INVALID_METADATA
    assert store.jobs == {} and store.by_id == {}


async def test_a_bulk_job_answers_with_its_preview_and_items_from_ready_rows(
    store: InMemoryJobStore,
) -> None:
    csv = b"file_name,agent_code\na.mp3,JS001\nb.mp3,JD002\nnot-selected.mp3,X\n"
    command = CreateJob(
        ORG, CAMPAIGN, UploadSource.BULK, (JobFile("a.mp3"), JobFile("b.mp3")), csv=csv
    )
    report, preview = await job_handlers.create_job(command, store)
    assert preview is not None and len(preview.ready_rows) == 2
    assert [(i.file_name, i.line, i.metadata.agent_code) for i in report.items] == [
        ("a.mp3", 2, "JS001"),
        ("b.mp3", 3, "JD002"),
    ]
    assert report.job.source is UploadSource.BULK


async def test_a_bulk_csv_over_the_limit_is_refused_before_it_is_read(
    store: InMemoryJobStore,
) -> None:
    csv = b"file_name\n" + b"a.mp3\n" * (1024 * 1024)
    with pytest.raises(JobRejectedError) as refused:
        job_handlers.preview_bulk(csv, ["a.mp3"])
    assert refused.value.code is JobRejection.CSV_TOO_LARGE
    assert "5 MB" in refused.value.message


async def test_a_job_needs_a_ui_or_bulk_source(store: InMemoryJobStore) -> None:
    command = CreateJob(ORG, CAMPAIGN, UploadSource.API, (JobFile("a.mp3"),))
    with pytest.raises(JobRejectedError) as refused:
        await job_handlers.create_job(command, store)
    assert refused.value.code is JobRejection.INVALID_REQUEST


# -- uploading an item -----------------------------------------------------------------------


async def test_an_item_takes_its_name_metadata_and_source_from_the_job(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store)
    upload = await begin(store, report.job.id, report.items[1].id, campaign=CAMPAIGN)
    command = upload.command
    assert (command.file_name, command.source) == ("call1.mp3", UploadSource.UI)
    assert command.metadata == report.items[1].metadata
    assert (command.job_id, command.job_item_id) == (report.job.id, report.items[1].id)
    assert store.by_id[report.items[1].id].state is S.UPLOADING


async def test_an_item_is_uploaded_once(store: InMemoryJobStore) -> None:
    report = await ui_job(store)
    item_id = report.items[0].id
    upload = await begin(store, report.job.id, item_id)
    with pytest.raises(JobRejectedError) as while_uploading:
        await begin(store, report.job.id, item_id)
    # Still arriving: the second sender may try again (the first may yet break off).
    assert while_uploading.value.code is JobRejection.ITEM_IN_FLIGHT
    received = [chunk async for chunk in upload.track(chunks(10, 20))]
    assert sum(map(len, received)) == 30
    await upload.uploaded(a_call(item_id))
    assert store.by_id[item_id].state is S.UPLOADED
    assert store.by_id[item_id].bytes_received == 30
    with pytest.raises(JobRejectedError) as after_upload:
        await begin(store, report.job.id, item_id)
    assert after_upload.value.code is JobRejection.ITEM_ALREADY_UPLOADED
    assert a_call(item_id).id in after_upload.value.message


async def test_progress_is_written_at_the_end_even_for_a_fast_file(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store)
    upload = await begin(store, report.job.id, report.items[0].id)
    async for _ in upload.track(chunks(*[1024] * 50)):
        pass
    # Fifty chunks in well under 0.5 s: one write, at the end, with every byte.
    assert store.progress == [50 * 1024]


async def test_a_rejected_item_keeps_the_reason_and_may_be_sent_again(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store)
    item_id = report.items[0].id
    upload = await begin(store, report.job.id, item_id)
    await upload.rejected(UploadRejectedError(RejectionCode.UNSUPPORTED_FORMAT, "not audio"))
    item = store.by_id[item_id]
    assert (item.state, item.error_code, item.error_message) == (
        S.REJECTED,
        "unsupported_format",
        "not audio",
    )
    again = await begin(store, report.job.id, item_id)
    assert store.by_id[item_id].state is S.UPLOADING
    await again.uploaded(a_call(item_id))
    assert store.by_id[item_id].state is S.UPLOADED


async def test_an_abandoned_upload_waits_again(store: InMemoryJobStore) -> None:
    report = await ui_job(store)
    item_id = report.items[0].id
    upload = await begin(store, report.job.id, item_id)
    await upload.abandoned()
    assert store.by_id[item_id].state is S.WAITING
    assert item_id not in store.claims
    await begin(store, report.job.id, item_id)


async def test_another_organisations_or_campaigns_item_does_not_exist(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store)
    mine = report.items[0].id
    for org, campaign, job_id, item_id in (
        ("org-2", "", report.job.id, mine),
        (ORG, "campaign-2", report.job.id, mine),
        (ORG, CAMPAIGN, report.job.id, "no-such-item"),
        (ORG, CAMPAIGN, "no-such-job", mine),
        (ORG, CAMPAIGN, "", ""),
    ):
        with pytest.raises(JobNotFoundError):
            await begin(store, job_id, item_id, org=org, campaign=campaign)
    assert store.claims == {}


# -- cancelling ------------------------------------------------------------------------------


async def test_cancel_stops_the_waiting_items_and_lets_the_one_in_flight_finish(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store, files=4)
    ids = [item.id for item in report.items]
    done = await begin(store, report.job.id, ids[0])
    await done.uploaded(a_call(ids[0]))
    store.call_status[ids[0]] = CallStatus.COMPLETED
    in_flight = await begin(store, report.job.id, ids[1])

    cancelled = await job_handlers.cancel_job(ORG, report.job.id, store)

    assert cancelled.status is JobStatus.CANCELLED
    assert [item.state for item in cancelled.items] == [
        S.UPLOADED,
        S.UPLOADING,
        S.CANCELLED,
        S.CANCELLED,
    ]
    assert cancelled.counts.cancelled == 2
    for item_id in ids[2:]:
        with pytest.raises(JobRejectedError) as refused:
            await begin(store, report.job.id, item_id)
        assert refused.value.code is JobRejection.JOB_CANCELLED
    await in_flight.uploaded(a_call(ids[1]))
    assert store.by_id[ids[1]].state is S.UPLOADED
    with pytest.raises(JobRejectedError) as twice:
        await job_handlers.cancel_job(ORG, report.job.id, store)
    assert twice.value.code is JobRejection.JOB_FINISHED


async def test_an_upload_abandoned_after_the_cancel_is_cancelled(store: InMemoryJobStore) -> None:
    report = await ui_job(store, files=2)
    item_id = report.items[0].id
    in_flight = await begin(store, report.job.id, item_id)
    await job_handlers.cancel_job(ORG, report.job.id, store)
    await in_flight.abandoned()
    assert store.by_id[item_id].state is S.CANCELLED
    with pytest.raises(JobRejectedError) as refused:
        await begin(store, report.job.id, item_id)
    assert refused.value.code is JobRejection.JOB_CANCELLED


async def test_a_finished_job_cannot_be_cancelled(store: InMemoryJobStore) -> None:
    report = await ui_job(store, files=1)
    item_id = report.items[0].id
    upload = await begin(store, report.job.id, item_id)
    await upload.uploaded(a_call(item_id))
    store.call_status[item_id] = CallStatus.FAILED
    assert (await job_handlers.get_job(ORG, report.job.id, store)).status is JobStatus.FAILED
    with pytest.raises(JobRejectedError) as refused:
        await job_handlers.cancel_job(ORG, report.job.id, store)
    assert refused.value.code is JobRejection.JOB_FINISHED
    assert store.jobs[report.job.id].cancelled_at is None


# -- cancelling one item --------------------------------------------------------------------


async def cancel_item(
    store: InMemoryJobStore, job_id: str, item_id: str, *, org: str = ORG, campaign: str = ""
) -> JobReport:
    return await job_handlers.cancel_item(
        store, org_id=org, campaign_id=campaign, job_id=job_id, item_id=item_id
    )


async def test_a_cancelled_item_is_finished_and_the_rest_of_the_job_completes(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store, files=2)
    kept, dropped = (item.id for item in report.items)

    cancelled = await cancel_item(store, report.job.id, dropped, campaign=CAMPAIGN)

    assert [item.state for item in cancelled.items] == [S.WAITING, S.CANCELLED]
    assert cancelled.status is JobStatus.QUEUED
    assert store.jobs[report.job.id].cancelled_at is None
    assert store.claims[dropped] is ItemClaim.CANCEL
    upload = await begin(store, report.job.id, kept)
    await upload.uploaded(a_call(kept))
    store.call_status[kept] = CallStatus.COMPLETED
    done = await job_handlers.get_job(ORG, report.job.id, store)
    assert done.status is JobStatus.COMPLETED
    assert (done.counts.completed, done.counts.cancelled, done.counts.total) == (1, 1, 2)


async def test_cancelling_an_item_twice_answers_the_job_again(store: InMemoryJobStore) -> None:
    report = await ui_job(store, files=2)
    item_id = report.items[0].id
    first = await cancel_item(store, report.job.id, item_id)
    second = await cancel_item(store, report.job.id, item_id)
    assert first.items == second.items
    assert second.counts.cancelled == 1


async def test_a_cancelled_item_refuses_its_file_saying_it_was_cancelled(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store, files=2)
    item_id = report.items[0].id
    await cancel_item(store, report.job.id, item_id)
    with pytest.raises(JobRejectedError) as refused:
        await begin(store, report.job.id, item_id)
    assert refused.value.code is JobRejection.ITEM_CANCELLED
    assert "call0.mp3" in refused.value.message
    assert store.by_id[item_id].state is S.CANCELLED


async def test_a_rejected_item_can_be_cancelled(store: InMemoryJobStore) -> None:
    report = await ui_job(store, files=1)
    item_id = report.items[0].id
    upload = await begin(store, report.job.id, item_id)
    await upload.rejected(UploadRejectedError(RejectionCode.TOO_SHORT, "too short"))
    assert (await job_handlers.get_job(ORG, report.job.id, store)).status is JobStatus.FAILED
    cancelled = await cancel_item(store, report.job.id, item_id)
    assert cancelled.items[0].state is S.CANCELLED
    # Every file given up one by one: nothing of the job was kept.
    assert cancelled.status is JobStatus.CANCELLED


async def test_an_item_still_arriving_is_refused_as_in_flight_until_the_upload_breaks_off(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store, files=2)
    item_id = report.items[0].id
    upload = await begin(store, report.job.id, item_id)
    with pytest.raises(JobRejectedError) as refused:
        await cancel_item(store, report.job.id, item_id)
    assert refused.value.code is JobRejection.ITEM_IN_FLIGHT
    assert "try again" in refused.value.message
    assert store.by_id[item_id].state is S.UPLOADING
    assert store.claims[item_id] is ItemClaim.UPLOAD

    await upload.abandoned()
    cancelled = await cancel_item(store, report.job.id, item_id)
    assert cancelled.items[0].state is S.CANCELLED
    assert store.by_id[item_id].bytes_received == 0


async def test_an_uploaded_item_is_a_call_and_is_not_cancelled(store: InMemoryJobStore) -> None:
    report = await ui_job(store, files=2)
    item_id = report.items[0].id
    upload = await begin(store, report.job.id, item_id)
    await upload.uploaded(a_call(item_id))
    with pytest.raises(JobRejectedError) as refused:
        await cancel_item(store, report.job.id, item_id)
    assert refused.value.code is JobRejection.ITEM_ALREADY_UPLOADED
    assert f"call-{item_id}" in refused.value.message
    assert store.by_id[item_id].state is S.UPLOADED


class UploadFinishesBeforeTheCancelClaim(InMemoryJobStore):
    """A store where an upload completes between the cancel's look at the item and its claim."""

    def __init__(self) -> None:
        super().__init__()
        self.finish: Callable[[], Awaitable[None]] | None = None

    async def claim_item(self, job_id: str, item_id: str, claim: ItemClaim) -> ItemClaim | None:
        if claim is ItemClaim.CANCEL and self.finish is not None:
            finish, self.finish = self.finish, None
            await finish()
        return await super().claim_item(job_id, item_id, claim)


async def test_an_item_that_arrives_while_it_is_being_cancelled_is_kept() -> None:
    store = UploadFinishesBeforeTheCancelClaim()
    report = await ui_job(store, files=1)
    item_id = report.items[0].id
    upload = await begin(store, report.job.id, item_id)
    store.finish = lambda: upload.uploaded(a_call(item_id))
    with pytest.raises(JobRejectedError) as refused:
        await cancel_item(store, report.job.id, item_id)
    assert refused.value.code is JobRejection.ITEM_ALREADY_UPLOADED
    assert store.by_id[item_id].state is S.UPLOADED


async def test_an_item_of_a_cancelled_job_is_answered_as_cancelled(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store, files=2)
    await job_handlers.cancel_job(ORG, report.job.id, store)
    answered = await cancel_item(store, report.job.id, report.items[1].id)
    assert answered.status is JobStatus.CANCELLED
    assert answered.items[1].state is S.CANCELLED


async def test_another_organisations_or_campaigns_item_cannot_be_cancelled(
    store: InMemoryJobStore,
) -> None:
    report = await ui_job(store)
    mine = report.items[0].id
    for org, campaign, job_id, item_id in (
        ("org-2", "", report.job.id, mine),
        (ORG, "campaign-2", report.job.id, mine),
        (ORG, CAMPAIGN, report.job.id, "no-such-item"),
        (ORG, CAMPAIGN, "no-such-job", mine),
        (ORG, CAMPAIGN, "", ""),
    ):
        with pytest.raises(JobNotFoundError):
            await cancel_item(store, job_id, item_id, org=org, campaign=campaign)
    assert store.claims == {}
    assert store.by_id[mine].state is S.WAITING


# -- reading ---------------------------------------------------------------------------------


async def test_jobs_are_listed_newest_first_page_by_page(store: InMemoryJobStore) -> None:
    created = [(await ui_job(store, files=1)).job.id for _ in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page, token = await job_handlers.list_jobs(ORG, CAMPAIGN, 2, token, store)
        assert len(page) <= 2
        seen += [report.job.id for report in page]
        assert all(report.items == () and report.counts.total == 1 for report in page)
        if not token:
            break
    assert seen == sorted(created, key=lambda i: (store.jobs[i].created_at, i), reverse=True)
    assert (await job_handlers.list_jobs(ORG, "other", 0, "", store))[0] == []
