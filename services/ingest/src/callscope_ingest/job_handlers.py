"""Ingest's job use cases: preview a bulk CSV, create a job, upload its items, read and cancel
(a whole job, or one of its items).

Each item's file arrives through the ordinary upload (`handlers.register_call`); what
this module adds is who may send it (a unique claim on the item), the item's state and
progress, and the job's derived status.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from callscope_ingest.domain.bulk_csv import (
    DEFAULT_BULK_CSV_LIMITS,
    BulkPreview,
    csv_too_large_message,
    preview_bulk_upload,
)
from callscope_ingest.domain.calls import Call, UploadSource
from callscope_ingest.domain.errors import UploadRejectedError
from callscope_ingest.domain.jobs import (
    MAX_BULK_FILES,
    PROGRESS_INTERVAL_S,
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
    check_cancellable,
    decode_job_cursor,
    encode_job_cursor,
    item_cancelled_error,
    item_in_flight_error,
    item_taken_error,
    item_upload_in_flight_error,
    item_uploaded_error,
    job_cancelled_error,
    job_page_size,
    job_report,
    plan_bulk_items,
    plan_ui_items,
    tally_items,
)
from callscope_ingest.domain.metadata import CallMetadata, normalise_metadata
from callscope_ingest.handlers import RegisterCall
from callscope_ingest.ports import JobStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreateJob:
    """Command: start a multi-file (UI) or bulk (BULK) upload."""

    org_id: str
    campaign_id: str
    source: UploadSource
    files: tuple[JobFile, ...]
    # UI: applies to every file. BULK: each row brings its own.
    metadata: CallMetadata = dataclasses.field(default_factory=CallMetadata)
    csv: bytes = b""


def preview_bulk(csv: bytes, file_names: Sequence[str]) -> BulkPreview:
    """The bulk CSV checked against the selected files' names; stores nothing."""
    if len(csv) > DEFAULT_BULK_CSV_LIMITS.max_bytes:
        raise JobRejectedError(JobRejection.CSV_TOO_LARGE, csv_too_large_message())
    if len(file_names) > MAX_BULK_FILES:
        raise JobRejectedError(
            JobRejection.TOO_MANY_FILES,
            f"{len(file_names)} files were selected; a bulk upload takes at most "
            f"{MAX_BULK_FILES} files (one CSV row each); split them into several bulk uploads",
        )
    return preview_bulk_upload(csv, file_names)


async def create_job(command: CreateJob, jobs: JobStore) -> tuple[JobReport, BulkPreview | None]:
    """Creates the job and its WAITING items; a bulk job also answers with its preview."""
    if not command.org_id or not command.campaign_id:
        raise JobRejectedError(
            JobRejection.INVALID_REQUEST, "organisation and campaign are required"
        )
    preview: BulkPreview | None = None
    metadata = CallMetadata()
    if command.source is UploadSource.UI:
        metadata = normalise_metadata(command.metadata)
        planned = plan_ui_items(command.files, metadata)
    elif command.source is UploadSource.BULK:
        preview = preview_bulk(command.csv, [file.file_name for file in command.files])
        planned = plan_bulk_items(preview, command.files)
    else:
        raise JobRejectedError(
            JobRejection.INVALID_REQUEST, "a job is a multi-file upload (UI) or a bulk upload"
        )
    job = Job(
        id=uuid.uuid4().hex,
        org_id=command.org_id,
        campaign_id=command.campaign_id,
        source=command.source,
        metadata=metadata,
        created_at=dt.datetime.now(dt.UTC),
    )
    items = [
        JobItem(
            id=uuid.uuid4().hex,
            job_id=job.id,
            position=position,
            file_name=plan.file_name,
            metadata=plan.metadata,
            line=plan.line,
            size_bytes=plan.size_bytes,
        )
        for position, plan in enumerate(planned)
    ]
    await jobs.create(job, items)
    logger.info(
        "job created",
        extra={"job_id": job.id, "source": job.source.value, "items": len(items)},
    )
    return job_report(job, tally_items(items), items), preview


async def get_job(org_id: str, job_id: str, jobs: JobStore, item_id: str = "") -> JobReport:
    """The job with its items (or only item_id), derived status and counts."""
    job = await jobs.get(org_id, job_id)
    if job is None:
        raise JobNotFoundError(job_id)
    if item_id:
        item = await jobs.item(job.id, item_id)
        if item is None:
            raise JobNotFoundError(job_id)
        tally = (await jobs.tallies([job.id]))[job.id]
        return job_report(job, tally, (item,))
    items = await jobs.items(job.id)
    return job_report(job, tally_items(items), items)


async def list_jobs(
    org_id: str, campaign_id: str, requested_size: int, page_token: str, jobs: JobStore
) -> tuple[list[JobReport], str]:
    """A page of the campaign's jobs (newest first, without items) and the next page's token."""
    size = job_page_size(requested_size)
    found = await jobs.page(org_id, campaign_id, size + 1, decode_job_cursor(page_token))
    page = found[:size]
    tallies = await jobs.tallies([job.id for job in page])
    reports = [job_report(job, tallies[job.id]) for job in page]
    if len(found) <= size:
        return reports, ""
    last = page[-1]
    return reports, encode_job_cursor(JobCursor(last.created_at, last.id))


async def cancel_job(org_id: str, job_id: str, jobs: JobStore) -> JobReport:
    """Cancels the files not uploaded yet; files already arriving complete."""
    current = await get_job(org_id, job_id, jobs)
    check_cancellable(current.status)
    now = dt.datetime.now(dt.UTC)
    if not await jobs.claim_cancellation(job_id, now):
        raise JobRejectedError(
            JobRejection.JOB_FINISHED,
            "the job is already cancelled; only a queued or processing job can be cancelled",
        )
    # cancelled_at first: an upload that claims an item from now on sees it and gives up.
    await jobs.mark_cancelled(job_id, now)
    cancelled = await jobs.cancel_waiting_items(job_id, now)
    logger.info("job cancelled", extra={"job_id": job_id, "items_cancelled": cancelled})
    return await get_job(org_id, job_id, jobs)


async def _scoped_item(
    jobs: JobStore, org_id: str, campaign_id: str, job_id: str, item_id: str
) -> tuple[Job, JobItem]:
    """The job and its item, if the caller may see them (campaign_id, when given, must be
    the job's); JobNotFoundError otherwise: another scope's job does not exist for it."""
    job = await jobs.get(org_id, job_id) if job_id and item_id else None
    if job is None or (campaign_id and campaign_id != job.campaign_id):
        raise JobNotFoundError(job_id)
    item = await jobs.item(job.id, item_id)
    if item is None:
        raise JobNotFoundError(job_id)
    return job, item


async def cancel_item(
    jobs: JobStore,
    *,
    org_id: str,
    campaign_id: str,
    job_id: str,
    item_id: str,
) -> JobReport:
    """Cancels one file of a job (the rest go on); answers the job with all its items.

    A WAITING or REJECTED item is claimed for the cancellation and becomes CANCELLED;
    an item already CANCELLED is answered as it is. An upload still holding the item
    (the client stopped sending but the server has not seen the connection drop yet)
    is refused as `item_in_flight`, which is worth retrying: the moment the upload
    breaks off, `ItemUpload.abandoned` frees the item. A file that arrived completely
    is a call, which is kept (`item_already_uploaded`). campaign_id, when given, must
    be the job's, as for begin_item_upload.
    """
    job, item = await _scoped_item(jobs, org_id, campaign_id, job_id, item_id)
    if item.state is JobItemState.UPLOADED:
        raise item_uploaded_error(item)
    if item.state is not JobItemState.CANCELLED:
        holder = await jobs.claim_item(job.id, item.id, ItemClaim.CANCEL)
        if holder is ItemClaim.UPLOAD:
            # Held by an upload: still arriving, or arrived between our look and the claim.
            current = await jobs.item(job.id, item.id)
            if current is not None and current.state is JobItemState.UPLOADED:
                raise item_uploaded_error(current)
            raise item_in_flight_error(item.file_name)
        # Ours (the item was WAITING or REJECTED), or already the job cancellation's: the
        # write is the same either way, and repeating it finishes a cancel cut short.
        await jobs.cancel_item(item.id, dt.datetime.now(dt.UTC))
        logger.info("job item cancelled", extra={"job_id": job.id, "item_id": item.id})
    return await get_job(org_id, job_id, jobs)


async def begin_item_upload(
    jobs: JobStore,
    *,
    org_id: str,
    campaign_id: str,
    job_id: str,
    item_id: str,
    declared_size: int,
) -> ItemUpload:
    """Claims a job item for the upload of its file; refuses what may not be sent.

    campaign_id, when given, must be the job's (the caller's scope): a job of another
    campaign or organisation does not exist for the caller.
    """
    job, item = await _scoped_item(jobs, org_id, campaign_id, job_id, item_id)
    if job.cancelled_at is not None:
        raise job_cancelled_error()
    holder = await jobs.claim_item(job.id, item.id, ItemClaim.UPLOAD)
    if holder is ItemClaim.CANCEL:
        # The whole job, or only this item, was cancelled: say which (`job` is from before
        # the claim, so look again).
        now_job = await jobs.get(org_id, job_id)
        whole_job = now_job is None or now_job.cancelled_at is not None
        raise job_cancelled_error() if whole_job else item_cancelled_error(item.file_name)
    if holder is not None:
        # Held by another upload: finished (the call exists), or still under way, in which
        # case the client may try again (a dead ingest's claim is freed by the sweep).
        _, now_item = await _scoped_item(jobs, org_id, campaign_id, job_id, item_id)
        if now_item.state is JobItemState.UPLOADED:
            raise item_taken_error(now_item)
        raise item_upload_in_flight_error(now_item.file_name)
    now = dt.datetime.now(dt.UTC)
    try:
        # Cancelled between our first look and the claim: the claim makes it ours to cancel.
        refreshed = await jobs.get(org_id, job_id)
        if refreshed is None or refreshed.cancelled_at is not None:
            await jobs.cancel_item(item.id, now)
            raise job_cancelled_error()
        await jobs.start_upload(item.id, declared_size, now)
    except JobRejectedError:
        raise
    except BaseException:
        # The client went away (or the store failed) before the upload began: free the item.
        await jobs.reset_upload(item.id, now)
        await jobs.release_item(item.id)
        raise
    logger.info("job item upload started", extra={"job_id": job.id, "item_id": item.id})
    return ItemUpload(jobs, job, item)


class ItemUpload:
    """A claimed job item whose file is arriving; ends uploaded, rejected or abandoned."""

    def __init__(self, jobs: JobStore, job: Job, item: JobItem) -> None:
        self._jobs = jobs
        self._job = job
        self._item = item
        self._received = 0
        self._writing: asyncio.Future[None] | None = None

    @property
    def command(self) -> RegisterCall:
        """The call to register: name, metadata and source come from the job, not the client."""
        return RegisterCall(
            org_id=self._job.org_id,
            campaign_id=self._job.campaign_id,
            source=self._job.source,
            file_name=self._item.file_name,
            metadata=self._item.metadata,
            job_id=self._job.id,
            job_item_id=self._item.id,
        )

    async def track(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Passes the chunks on, writing down the bytes received at most every interval."""
        written_at = time.monotonic()
        async for chunk in chunks:
            self._received += len(chunk)
            if time.monotonic() - written_at >= PROGRESS_INTERVAL_S:
                await self._progress()
                written_at = time.monotonic()
            yield chunk
        await self._progress()

    async def _claim(self, claim: ItemClaim) -> ItemClaim | None:
        return await self._jobs.claim_item(self._job.id, self._item.id, claim)

    async def _progress(self) -> None:
        # Shielded, and awaited again before the item's next write (_settle): a progress
        # write that a disconnect interrupts here may still be running in the database,
        # and FerretDB applies two concurrent updates of one document as read-modify-write,
        # so the later state change (back to WAITING) could be overwritten and lost.
        self._writing = asyncio.ensure_future(
            self._jobs.record_progress(self._item.id, self._received, dt.datetime.now(dt.UTC))
        )
        await asyncio.shield(self._writing)

    async def _settle(self) -> None:
        """Waits for a progress write still running, so the item's writes never overlap."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing

    async def uploaded(self, call: Call) -> None:
        """The call exists: the item is UPLOADED for good (its claim stays)."""
        await self._settle()
        await self._jobs.finish_upload(
            self._item.id, call.id, self._received, dt.datetime.now(dt.UTC)
        )
        logger.info(
            "job item uploaded",
            extra={"job_id": self._job.id, "item_id": self._item.id, "call_id": call.id},
        )

    async def rejected(self, rejection: UploadRejectedError | JobRejectedError) -> None:
        """The file was refused: REJECTED with the reason, and free to be sent again."""
        await self._settle()
        await self._jobs.reject_upload(
            self._item.id, rejection.code.value, rejection.message, dt.datetime.now(dt.UTC)
        )
        await self._jobs.release_item(self._item.id)
        logger.info(
            "job item rejected",
            extra={"job_id": self._job.id, "item_id": self._item.id, "code": rejection.code},
        )

    async def abandoned(self) -> None:
        """The client went away mid-file: WAITING again, or CANCELLED if the job was meanwhile."""
        await self._settle()
        now = dt.datetime.now(dt.UTC)
        await self._jobs.reset_upload(self._item.id, now)
        await self._jobs.release_item(self._item.id)
        job = await self._jobs.get(self._job.org_id, self._job.id)
        # A cancellation that swept the items while we held this one left it to us.
        cancelled = job is not None and job.cancelled_at is not None
        if cancelled and await self._claim(ItemClaim.CANCEL) is None:
            await self._jobs.cancel_item(self._item.id, now)
        logger.info("job item upload abandoned", extra={"job_id": self._job.id})


async def recover_orphaned_uploads(jobs: JobStore, stale_after_s: float, now: dt.datetime) -> int:
    """Settles the items whose upload stopped writing progress stale_after_s ago; how many.

    A live upload writes its progress at least every few seconds while bytes arrive and
    is abandoned after INGEST_UPLOAD_IDLE_TIMEOUT_S without any, so an item still
    UPLOADING long after that lost its ingest mid-file (a crash, a kill). If that ingest
    had already stored the call, the item is UPLOADED with it; otherwise it is WAITING
    again and its claim is freed, so the client can send the file again instead of
    being told `item_in_flight` for ever. A claim left on an item already back to
    WAITING or REJECTED (its ingest died between the two writes) is freed too.
    """
    settled = 0
    stale_before = now - dt.timedelta(seconds=stale_after_s)
    for item_id in await jobs.stray_upload_claims(stale_before, 200):
        await jobs.release_item(item_id)
        settled += 1
        logger.warning("stray job item claim freed", extra={"item_id": item_id})
    for item in await jobs.stale_uploads(stale_before, 200):
        call = await jobs.call_of_item(item.job_id, item.id)
        if call is not None:
            call_id, size_bytes = call
            await jobs.finish_upload(item.id, call_id, size_bytes, now)
        else:
            await jobs.reset_upload(item.id, now)
            await jobs.release_item(item.id)
        settled += 1
        logger.warning(
            "orphaned job item upload settled",
            extra={"job_id": item.job_id, "item_id": item.id, "call_id": call[0] if call else ""},
        )
    return settled
