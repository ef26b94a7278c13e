"""The job RPCs' bodies: protobuf ↔ domain mapping, handler calls and error statuses.

The servicer (`grpc_api.py`) keeps one thin method per RPC that calls into here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable
from typing import Any, NoReturn, TypeVar

import grpc
from callscope.v1 import common_pb2, ingest_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_ingest import job_handlers
from callscope_ingest.domain.bulk_csv import BulkPreview
from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.errors import UploadRejectedError
from callscope_ingest.domain.jobs import (
    JobFile,
    JobItem,
    JobNotFoundError,
    JobRejectedError,
    JobRejection,
    JobReport,
)
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.entrypoints.call_rpc import REJECTION_CODE_KEY
from callscope_ingest.ports import JobStore

T = TypeVar("T")

# Errors of the job RPCs that become a gRPC status with a stable code.
JOB_ERRORS = (JobNotFoundError, JobRejectedError, UploadRejectedError)

_STATUS_FOR_CODE: dict[str, grpc.StatusCode] = {
    JobRejection.CSV_TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    JobRejection.JOB_CANCELLED: grpc.StatusCode.FAILED_PRECONDITION,
    JobRejection.JOB_FINISHED: grpc.StatusCode.FAILED_PRECONDITION,
    JobRejection.ITEM_ALREADY_UPLOADED: grpc.StatusCode.ALREADY_EXISTS,
    JobRejection.ITEM_IN_FLIGHT: grpc.StatusCode.FAILED_PRECONDITION,
    JobRejection.ITEM_CANCELLED: grpc.StatusCode.FAILED_PRECONDITION,
}


async def abort_for_job(context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> NoReturn:
    """Ends the RPC with the status and stable code that error stands for."""
    if isinstance(error, JobNotFoundError):
        await context.abort(grpc.StatusCode.NOT_FOUND, f"no job item or job with id {error}")
    if isinstance(error, JobRejectedError | UploadRejectedError):
        context.set_trailing_metadata(((REJECTION_CODE_KEY, error.code.value),))
        status = _STATUS_FOR_CODE.get(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        await context.abort(status, error.message)
    raise error


async def _answer(context: grpc.aio.ServicerContext[Any, Any], work: Awaitable[T]) -> T:
    try:
        return await work
    except JOB_ERRORS as error:
        await abort_for_job(context, error)


async def preview_bulk_upload(
    request: ingest_pb2.PreviewBulkUploadRequest, context: grpc.aio.ServicerContext[Any, Any]
) -> ingest_pb2.BulkPreview:
    """The bulk CSV checked against the selected files; nothing is stored."""

    async def preview() -> BulkPreview:
        return job_handlers.preview_bulk(request.csv, list(request.file_names))

    return preview_to_proto(await _answer(context, preview()))


async def create_job(
    request: ingest_pb2.CreateJobRequest,
    context: grpc.aio.ServicerContext[Any, Any],
    jobs: JobStore,
) -> ingest_pb2.CreateJobResponse:
    """A new job with its WAITING items (and, for a bulk job, the preview they came from)."""
    command = job_handlers.CreateJob(
        org_id=request.org_id,
        campaign_id=request.campaign_id,
        source=_source(request.source),
        files=tuple(JobFile(file.file_name, file.size_bytes) for file in request.files),
        metadata=_metadata(request.metadata),
        csv=request.csv,
    )
    report, preview = await _answer(context, job_handlers.create_job(command, jobs))
    return ingest_pb2.CreateJobResponse(
        job=job_to_proto(report), preview=preview_to_proto(preview) if preview else None
    )


async def get_job(
    request: ingest_pb2.GetJobRequest, context: grpc.aio.ServicerContext[Any, Any], jobs: JobStore
) -> ingest_pb2.Job:
    """The job with its items; NOT_FOUND for another organisation's."""
    report = await _answer(
        context, job_handlers.get_job(request.org_id, request.job_id, jobs, request.item_id)
    )
    return job_to_proto(report)


async def list_jobs(
    request: ingest_pb2.ListJobsRequest,
    context: grpc.aio.ServicerContext[Any, Any],
    jobs: JobStore,
) -> ingest_pb2.ListJobsResponse:
    """A page of the campaign's jobs, newest first, without items."""
    reports, token = await _answer(
        context,
        job_handlers.list_jobs(
            request.org_id, request.campaign_id, request.page_size, request.page_token, jobs
        ),
    )
    return ingest_pb2.ListJobsResponse(
        jobs=[job_to_proto(report) for report in reports], next_page_token=token
    )


async def cancel_job(
    request: ingest_pb2.GetJobRequest, context: grpc.aio.ServicerContext[Any, Any], jobs: JobStore
) -> ingest_pb2.Job:
    """The job, cancelled; FAILED_PRECONDITION (job_finished) when it was already over."""
    report = await _answer(context, job_handlers.cancel_job(request.org_id, request.job_id, jobs))
    return job_to_proto(report)


async def cancel_job_item(
    request: ingest_pb2.CancelJobItemRequest,
    context: grpc.aio.ServicerContext[Any, Any],
    jobs: JobStore,
) -> ingest_pb2.Job:
    """The job with the item cancelled; item_in_flight / item_already_uploaded otherwise."""
    report = await _answer(
        context,
        job_handlers.cancel_item(
            jobs,
            org_id=request.org_id,
            campaign_id=request.campaign_id,
            job_id=request.job_id,
            item_id=request.item_id,
        ),
    )
    return job_to_proto(report)


async def begin_item_upload(
    header: ingest_pb2.UploadHeader, context: grpc.aio.ServicerContext[Any, Any], jobs: JobStore
) -> job_handlers.ItemUpload:
    """Claims the header's job item for this upload, or ends the call with the refusal."""
    return await _answer(
        context,
        job_handlers.begin_item_upload(
            jobs,
            org_id=header.org_id,
            campaign_id=header.campaign_id,
            job_id=header.job_id,
            item_id=header.job_item_id,
            declared_size=header.declared_size_bytes,
        ),
    )


# -- mapping ---------------------------------------------------------------------------------


def job_to_proto(report: JobReport, now: dt.datetime | None = None) -> ingest_pb2.Job:
    """The protobuf shape of a job report."""
    at = now or dt.datetime.now(dt.UTC)
    job = report.job
    counts = report.counts
    return ingest_pb2.Job(
        id=job.id,
        org_id=job.org_id,
        campaign_id=job.campaign_id,
        source=common_pb2.UploadSource.Value(f"UPLOAD_SOURCE_{job.source.value}"),
        status=ingest_pb2.JobStatus.Value(f"JOB_STATUS_{report.status.value}"),
        counts=ingest_pb2.JobCounts(
            total=counts.total,
            processed=counts.processed,
            failed=counts.failed,
            completed=counts.completed,
            duplicates=counts.duplicates,
            cancelled=counts.cancelled,
        ),
        items=[item_to_proto(item, at) for item in report.items],
        metadata=_metadata_proto(job.metadata),
        created_at=_timestamp(job.created_at),
        cancelled_at=_timestamp(job.cancelled_at) if job.cancelled_at else None,
    )


def item_to_proto(item: JobItem, now: dt.datetime) -> ingest_pb2.JobItem:
    """The protobuf shape of a job item; its speed is computed now."""
    return ingest_pb2.JobItem(
        id=item.id,
        file_name=item.file_name,
        line=item.line,
        metadata=_metadata_proto(item.metadata),
        state=ingest_pb2.JobItemState.Value(f"JOB_ITEM_STATE_{item.state.value}"),
        call_id=item.call_id,
        call_status=common_pb2.CallStatus.Value(f"CALL_STATUS_{item.call_status.value}")
        if item.call_status
        else common_pb2.CallStatus.CALL_STATUS_UNSPECIFIED,
        error_code=item.error_code,
        error_message=item.error_message,
        size_bytes=item.size_bytes,
        bytes_received=item.bytes_received,
        bytes_per_second=item.bytes_per_second(now),
        upload_started_at=_timestamp(item.upload_started_at) if item.upload_started_at else None,
    )


def preview_to_proto(preview: BulkPreview) -> ingest_pb2.BulkPreview:
    """The protobuf shape of a bulk CSV preview."""
    return ingest_pb2.BulkPreview(
        rows=[
            ingest_pb2.PreviewRow(
                line=row.line,
                file_name=row.file_name,
                metadata=_metadata_proto(row.metadata),
                matched=row.matched,
                errors=list(row.errors),
                warnings=list(row.warnings),
            )
            for row in preview.rows
        ],
        files_without_row=list(preview.files_without_row),
        errors=list(preview.errors),
        warnings=list(preview.warnings),
        ready_rows=len(preview.ready_rows),
    )


def _source(value: common_pb2.UploadSource.ValueType) -> UploadSource:
    name = common_pb2.UploadSource.Name(value).removeprefix("UPLOAD_SOURCE_")
    # An unknown source reaches the handler as API, which refuses it with words.
    return UploadSource(name) if name in UploadSource.__members__ else UploadSource.API


def _metadata(message: common_pb2.CallMetadata) -> CallMetadata:
    return CallMetadata(
        **{field.name: getattr(message, field.name) for field in dataclasses.fields(CallMetadata)}
    )


def _metadata_proto(metadata: CallMetadata) -> common_pb2.CallMetadata:
    return common_pb2.CallMetadata(**dataclasses.asdict(metadata))


def _timestamp(value: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp
