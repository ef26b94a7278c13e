"""Jobs: a multi-file upload (source UI) or a bulk CSV upload (source BULK), one item per file.

A job's counts and status are derived on read from its items' states and its calls'
statuses, never kept as counters, so they cannot drift from what really happened.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from callscope_ingest.domain.bulk_csv import DEFAULT_BULK_CSV_LIMITS, BulkPreview
from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.file_names import clean_file_name
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus

# The product guide: "Maximum 20 files at once via UI".
MAX_UI_FILES = 20
# More selected files than a CSV may have rows cannot all match; the cap bounds the request.
MAX_BULK_FILES = DEFAULT_BULK_CSV_LIMITS.max_rows
# How often, at most, an upload's received bytes are written down for progress readers.
PROGRESS_INTERVAL_S = 0.5
DEFAULT_JOB_PAGE_SIZE = 20
MAX_JOB_PAGE_SIZE = 100


class JobStatus(StrEnum):
    """Where a job is, as the product guide names it."""

    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


FINISHED_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobItemState(StrEnum):
    """Where one file of a job is on its way in."""

    WAITING = "WAITING"
    UPLOADING = "UPLOADING"
    UPLOADED = "UPLOADED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class ItemClaim(StrEnum):
    """Who holds an item: an upload of its file, or the job's cancellation."""

    UPLOAD = "UPLOAD"
    CANCEL = "CANCEL"


class JobRejection(StrEnum):
    """Stable codes for refused job requests (mapped to HTTP statuses by the gateway)."""

    TOO_MANY_FILES = "too_many_files"
    INVALID_CSV = "invalid_csv"
    CSV_TOO_LARGE = "csv_too_large"
    JOB_CANCELLED = "job_cancelled"
    ITEM_ALREADY_UPLOADED = "item_already_uploaded"
    ITEM_IN_FLIGHT = "item_in_flight"
    ITEM_CANCELLED = "item_cancelled"
    JOB_FINISHED = "job_finished"
    INVALID_REQUEST = "invalid_request"
    INVALID_METADATA = "invalid_metadata"


class JobRejectedError(Exception):
    """A job request that breaks a rule; nothing of it is stored."""

    def __init__(self, code: JobRejection, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JobNotFoundError(Exception):
    """No such job (or item) in the caller's organisation and campaign."""


# Call statuses that mean the call's file is still being worked on.
_CALLS_IN_PROGRESS = frozenset({CallStatus.PENDING, CallStatus.TRANSCRIBING, CallStatus.ANALYZING})


@dataclass(frozen=True)
class Job:
    """A set of files uploaded together; its items say where each file is."""

    id: str
    org_id: str
    campaign_id: str
    source: UploadSource
    # A multi-file upload's metadata (copied onto each item); empty for a bulk job.
    metadata: CallMetadata
    created_at: dt.datetime
    cancelled_at: dt.datetime | None = None


@dataclass(frozen=True)
class JobItem:
    """One file of a job, with its upload's progress and, once uploaded, its call."""

    id: str
    job_id: str
    position: int
    file_name: str
    metadata: CallMetadata
    state: JobItemState = JobItemState.WAITING
    # The CSV line of a bulk item; 0 for a multi-file upload.
    line: int = 0
    size_bytes: int = 0
    bytes_received: int = 0
    upload_started_at: dt.datetime | None = None
    # When bytes_received was last written down.
    progress_at: dt.datetime | None = None
    call_id: str = ""
    error_code: str = ""
    error_message: str = ""
    # The status of the item's call when read (None: no call).
    call_status: CallStatus | None = None

    def bytes_per_second(self, now: dt.datetime) -> float:
        """Average speed since the upload started: up to now while bytes arrive, else to the end."""
        if self.upload_started_at is None or not self.bytes_received:
            return 0.0
        until = now if self.state is JobItemState.UPLOADING else (self.progress_at or now)
        seconds = (until - self.upload_started_at).total_seconds()
        return self.bytes_received / seconds if seconds > 0 else 0.0


@dataclass(frozen=True)
class JobTally:
    """What a job's counts are made of: items per state, and the job's calls per status."""

    items: Mapping[JobItemState, int] = field(default_factory=dict)
    calls: Mapping[CallStatus, int] = field(default_factory=dict)


@dataclass(frozen=True)
class JobCounts:
    """The numbers the job tracker shows."""

    total: int
    # Items whose processing is over, well or badly: completed + duplicates + failed.
    processed: int
    # Items refused at upload, or whose call FAILED.
    failed: int
    completed: int
    duplicates: int
    cancelled: int


@dataclass(frozen=True)
class JobReport:
    """A job as a reader sees it: derived status and counts, and its items when asked for."""

    job: Job
    status: JobStatus
    counts: JobCounts
    items: tuple[JobItem, ...] = ()


def tally_items(items: Iterable[JobItem]) -> JobTally:
    """The tally of a job from its items read with their calls' statuses."""
    listed = list(items)
    return JobTally(
        items=Counter(item.state for item in listed),
        calls=Counter(item.call_status for item in listed if item.call_status is not None),
    )


def job_counts(tally: JobTally) -> JobCounts:
    """The counts of a job, from its tally."""
    completed = tally.calls.get(CallStatus.COMPLETED, 0)
    duplicates = tally.calls.get(CallStatus.DUPLICATE, 0)
    failed = tally.items.get(JobItemState.REJECTED, 0) + tally.calls.get(CallStatus.FAILED, 0)
    return JobCounts(
        total=sum(tally.items.values()),
        processed=completed + duplicates + failed,
        failed=failed,
        completed=completed,
        duplicates=duplicates,
        cancelled=tally.items.get(JobItemState.CANCELLED, 0),
    )


def job_status(cancelled: bool, tally: JobTally) -> JobStatus:
    """CANCELLED once cancelled; QUEUED until a file arrives; COMPLETED/FAILED when all finished.

    An item is finished when it was refused or cancelled (with the job, or on its own),
    or its call is COMPLETED, FAILED or DUPLICATE (an uploaded item whose call was
    deleted counts as finished too). A job whose every file was cancelled one by one is
    CANCELLED as well: nothing of it was kept.
    """
    total = sum(tally.items.values())
    waiting = tally.items.get(JobItemState.WAITING, 0)
    cancelled_items = tally.items.get(JobItemState.CANCELLED, 0)
    if cancelled or (total and cancelled_items == total):
        return JobStatus.CANCELLED
    if waiting + cancelled_items == total:
        return JobStatus.QUEUED
    unfinished = (
        waiting
        + tally.items.get(JobItemState.UPLOADING, 0)
        + sum(tally.calls.get(status, 0) for status in _CALLS_IN_PROGRESS)
    )
    if unfinished:
        return JobStatus.PROCESSING
    return JobStatus.COMPLETED if job_counts(tally).failed == 0 else JobStatus.FAILED


def job_report(job: Job, tally: JobTally, items: Sequence[JobItem] = ()) -> JobReport:
    """The job with its derived status and counts."""
    return JobReport(
        job=job,
        status=job_status(job.cancelled_at is not None, tally),
        counts=job_counts(tally),
        items=tuple(items),
    )


# -- creating a job --------------------------------------------------------------------------


@dataclass(frozen=True)
class JobFile:
    """A file the user selected: its name and the size the client announced (0 if unknown)."""

    file_name: str
    size_bytes: int = 0


@dataclass(frozen=True)
class PlannedItem:
    """An item a new job will have."""

    file_name: str
    metadata: CallMetadata
    size_bytes: int = 0
    line: int = 0


def plan_ui_items(files: Sequence[JobFile], metadata: CallMetadata) -> tuple[PlannedItem, ...]:
    """A multi-file upload's items: 1 to 20 files, all with the upload's (validated) metadata."""
    if not files:
        raise JobRejectedError(JobRejection.INVALID_REQUEST, "select at least one file to upload")
    if len(files) > MAX_UI_FILES:
        raise JobRejectedError(
            JobRejection.TOO_MANY_FILES,
            f"{len(files)} files were selected; upload at most {MAX_UI_FILES} files at once, "
            "or use a bulk upload with a CSV for larger batches",
        )
    _check_sizes(files)
    if metadata.client_reference and len(files) > 1:
        # A client reference names one call: every file after the first would be its duplicate.
        raise JobRejectedError(
            JobRejection.INVALID_METADATA,
            "a client reference identifies one call, so it cannot apply to "
            f"{len(files)} files; upload the files without it, or one by one with their own",
        )
    return tuple(
        PlannedItem(clean_file_name(file.file_name), metadata, max(file.size_bytes, 0))
        for file in files
    )


def plan_bulk_items(preview: BulkPreview, files: Sequence[JobFile]) -> tuple[PlannedItem, ...]:
    """A bulk job's items: the preview's ready rows (a selected file and no errors)."""
    if len(files) > MAX_BULK_FILES:
        raise JobRejectedError(
            JobRejection.TOO_MANY_FILES,
            f"{len(files)} files were selected; a bulk upload takes at most {MAX_BULK_FILES} "
            "files (one CSV row each); split them into several bulk uploads",
        )
    _check_sizes(files)
    if not preview.can_start:
        raise JobRejectedError(JobRejection.INVALID_CSV, invalid_csv_message(preview))
    sizes = {clean_file_name(file.file_name): file.size_bytes for file in files}
    return tuple(
        PlannedItem(row.file_name, row.metadata, max(sizes.get(row.file_name, 0), 0), row.line)
        for row in preview.ready_rows
    )


# How many row problems an invalid-CSV message lists before "and N more".
_LISTED_PROBLEMS = 5


def invalid_csv_message(preview: BulkPreview) -> str:
    """Why no file of a bulk upload can start, in words, naming the first problems."""
    problems = list(preview.errors)
    problems += [error for row in preview.rows for error in row.errors]
    unmatched = [row for row in preview.rows if row.file_name and not row.errors]
    if not problems and unmatched:
        problems.append(
            "no CSV row names one of the selected files (e.g. line "
            f"{unmatched[0].line}: {unmatched[0].file_name}); the file_name column must "
            "hold the audio files' exact names"
        )
    shown = problems[:_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    listed = "; ".join(shown) + (f"; and {more} more problems" if more > 0 else "")
    return (
        "no file of this bulk upload can start: "
        + (listed or "the CSV has no rows")
        + ". Fix the CSV and preview it again"
    )


def _check_sizes(files: Sequence[JobFile]) -> None:
    negative = [file.file_name for file in files if file.size_bytes < 0]
    if negative:
        raise JobRejectedError(
            JobRejection.INVALID_REQUEST,
            f"the size of {negative[0]} is negative; send each file's size in bytes",
        )


# -- listing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobCursor:
    """Where the previous page of jobs ended (newest first, then id)."""

    created_at: dt.datetime
    job_id: str


_INVALID_TOKEN = "the page token is not valid; start again from the first page"


def job_page_size(requested: int) -> int:
    """The page size to use: 0 means the default; otherwise 1 to MAX_JOB_PAGE_SIZE."""
    if requested == 0:
        return DEFAULT_JOB_PAGE_SIZE
    if not 1 <= requested <= MAX_JOB_PAGE_SIZE:
        raise JobRejectedError(
            JobRejection.INVALID_REQUEST,
            f"the page size must be between 1 and {MAX_JOB_PAGE_SIZE}",
        )
    return requested


def encode_job_cursor(cursor: JobCursor) -> str:
    """An opaque, URL-safe page token."""
    raw = json.dumps([cursor.created_at.isoformat(), cursor.job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_job_cursor(token: str) -> JobCursor | None:
    """The cursor of a page token (None for the first page); refuses tokens we did not issue."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_at, job_id = json.loads(raw)
        cursor = JobCursor(dt.datetime.fromisoformat(created_at), str(job_id))
    except (binascii.Error, ValueError, TypeError):
        raise JobRejectedError(JobRejection.INVALID_REQUEST, _INVALID_TOKEN) from None
    if cursor.created_at.tzinfo is None:
        raise JobRejectedError(JobRejection.INVALID_REQUEST, _INVALID_TOKEN)
    return cursor


# -- uploading and cancelling ----------------------------------------------------------------


def check_cancellable(status: JobStatus) -> None:
    """Only a queued or processing job can be cancelled."""
    if status in FINISHED_JOB_STATUSES:
        raise JobRejectedError(
            JobRejection.JOB_FINISHED,
            f"the job is already {status.value.lower()}; only a queued or processing job "
            "can be cancelled",
        )


def job_cancelled_error() -> JobRejectedError:
    """Why a file of a cancelled job is refused."""
    return JobRejectedError(
        JobRejection.JOB_CANCELLED,
        "the job was cancelled, so its remaining files are not uploaded; "
        "start a new upload for them",
    )


def item_taken_error(item: JobItem) -> JobRejectedError:
    """Why a second upload of an item whose file already arrived is refused."""
    return JobRejectedError(
        JobRejection.ITEM_ALREADY_UPLOADED,
        f"the file {item.file_name} is already uploaded: it is call {item.call_id}; "
        "each file of a job is uploaded once",
    )


def item_upload_in_flight_error(file_name: str) -> JobRejectedError:
    """Why a send of an item another upload still holds is refused (retriable)."""
    return JobRejectedError(
        JobRejection.ITEM_IN_FLIGHT,
        f"an earlier upload of {file_name} is still under way; try again in a moment (if "
        "it broke off, the item is freed for a new send once its upload is seen to have "
        "stopped)",
    )


def item_cancelled_error(file_name: str) -> JobRejectedError:
    """Why the file of an item cancelled on its own is refused."""
    return JobRejectedError(
        JobRejection.ITEM_CANCELLED,
        f"the upload of {file_name} was cancelled, so this file is not taken any more; "
        "start a new upload for it",
    )


def item_in_flight_error(file_name: str) -> JobRejectedError:
    """Why an item whose upload is still under way cannot be cancelled yet (retriable)."""
    return JobRejectedError(
        JobRejection.ITEM_IN_FLIGHT,
        f"the file {file_name} is still arriving; try again in a moment (stop sending it "
        "first: once the upload breaks off, the item can be cancelled)",
    )


def item_uploaded_error(item: JobItem) -> JobRejectedError:
    """Why an item whose file arrived completely cannot be cancelled any more."""
    return JobRejectedError(
        JobRejection.ITEM_ALREADY_UPLOADED,
        f"the file {item.file_name} had already arrived completely, so it cannot be "
        f"cancelled: it is call {item.call_id}, which was kept; delete the call if it is "
        "not wanted",
    )
