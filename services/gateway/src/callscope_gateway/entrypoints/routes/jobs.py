"""Routes of jobs: multi-file uploads (source UI) and bulk CSV uploads (source BULK).

A job is created first (its items are the files to come), then each file is sent on
its own with `PUT /api/v1/jobs/{job_id}/items/{item_id}/file`, as many in parallel as
the client likes; `GET /api/v1/jobs/{job_id}` shows each file's progress and outcome.
One file is given up with `POST /api/v1/jobs/{job_id}/items/{item_id}/cancel`, the
whole job with `POST /api/v1/jobs/{job_id}/cancel`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import grpc
from callscope.v1 import common_pb2, ingest_pb2
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from callscope_gateway.adapters.multipart import (
    FileBytes,
    FileEnded,
    FileStarted,
    FormField,
    MalformedMultipartError,
    boundary_of,
    stream_form,
)
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.audit import note_campaign
from callscope_gateway.entrypoints.context import ApiContext, Context
from callscope_gateway.entrypoints.errors import COMMON_ERRORS, error_responses, from_rpc
from callscope_gateway.entrypoints.job_views import item_view, job_view, preview_view
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.query_params import INT64_MAX
from callscope_gateway.entrypoints.routes.calls import UPLOAD_REJECTIONS, content_length
from callscope_gateway.entrypoints.schemas import (
    BulkJobCreated,
    BulkPreview,
    DuplicateItemUpload,
    ItemUploaded,
    Job,
    JobPage,
    binary_body,
    multipart_body,
    with_duplicate,
)
from callscope_gateway.handlers import UPLOAD_CHUNK_BYTES

# Jobs are many people's calls on their way in: not for Agents (who see their own calls).
Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_UPLOADS))]
Uploader = Annotated[Principal, Depends(allowed(Permission.UPLOAD_CALLS))]

# Ingest's bulk CSV limit (domain/bulk_csv.py, which checks it again): the gateway stops
# reading the CSV part there, so a huge CSV is refused without being read whole.
MAX_CSV_BYTES = 5 * 1024 * 1024
# Ingest's bulk limit is one file per CSV row, at most 10 000 rows.
MAX_FILE_NAMES = 10_000
# A multi-file upload takes at most 20 files; a longer list is refused by ingest with
# words, and a list beyond this is not even read.
MAX_BATCH_ENTRIES = 1_000

router = APIRouter(prefix="/api/v1", tags=["jobs"])

# A campaign or job that does not exist (or is out of the principal's scope).
_SCOPED_ERRORS = (*COMMON_ERRORS, "not_found")
# Refusals of a bulk upload's form and CSV.
_BULK_ERRORS = (
    *_SCOPED_ERRORS,
    "missing_file",
    "malformed_form",
    "one_file_per_request",
    "too_many_files",
    "csv_too_large",
    "invalid_csv",
    "invalid_metadata",
)
_BULK_FORM = multipart_body(
    {
        "csv": {
            "type": "string",
            "format": "binary",
            "description": "the CSV: one row per audio file, with its file name and metadata",
        },
        "file_name": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the selected audio files' names, one field each",
        },
    },
    required=("csv",),
)


class BatchFile(BaseModel):
    """A file the user selected for a multi-file upload."""

    model_config = ConfigDict(extra="forbid")

    file_name: str = Field(min_length=1, max_length=1024)
    size_bytes: int = Field(default=0, ge=0, le=INT64_MAX)


class BatchMetadata(BaseModel):
    """The metadata a multi-file upload applies to all its files."""

    model_config = ConfigDict(extra="forbid")

    agent_name: str = ""
    agent_code: str = ""
    call_type: str = ""
    call_date: str = ""
    customer_id: str = ""
    disposition: str = ""
    client_reference: str = ""


class UploadBatch(BaseModel):
    """A multi-file upload: the selected files and their shared metadata."""

    model_config = ConfigDict(extra="forbid")

    files: list[BatchFile] = Field(max_length=MAX_BATCH_ENTRIES)
    metadata: BatchMetadata = Field(default_factory=BatchMetadata)


# -- creating jobs ---------------------------------------------------------------------------


@router.post(
    "/campaigns/{campaign_id}/bulk-uploads/preview",
    response_model=BulkPreview,
    responses=error_responses(*_BULK_ERRORS),
    openapi_extra=_BULK_FORM,
)
async def preview_bulk_upload(
    campaign_id: str, request: Request, principal: Uploader, context: Context
) -> dict[str, Any]:
    """Checks a bulk CSV against the selected files' names; stores nothing."""
    await campaign_in_scope(campaign_id, principal, context)
    form = await read_bulk_form(request)
    try:
        preview = await context.peers.preview_bulk_upload(
            ingest_pb2.PreviewBulkUploadRequest(
                org_id=principal.org_id,
                campaign_id=campaign_id,
                csv=form.csv,
                file_names=form.file_names,
            )
        )
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error) from error
    return preview_view(preview)


@router.post(
    "/campaigns/{campaign_id}/bulk-jobs",
    status_code=201,
    response_model=BulkJobCreated,
    responses=error_responses(*_BULK_ERRORS),
    openapi_extra=_BULK_FORM,
)
async def create_bulk_job(
    campaign_id: str, request: Request, principal: Uploader, context: Context
) -> dict[str, Any]:
    """Starts a bulk upload: the CSV's ready rows become the job's items."""
    await campaign_in_scope(campaign_id, principal, context)
    form = await read_bulk_form(request)
    created = await _create_job(
        context,
        ingest_pb2.CreateJobRequest(
            org_id=principal.org_id,
            campaign_id=campaign_id,
            source=common_pb2.UploadSource.UPLOAD_SOURCE_BULK,
            files=[ingest_pb2.JobFile(file_name=name) for name in form.file_names],
            csv=form.csv,
        ),
    )
    return {"job": job_view(created.job), "preview": preview_view(created.preview)}


@router.post(
    "/campaigns/{campaign_id}/upload-batches",
    status_code=201,
    response_model=Job,
    responses=error_responses(*_SCOPED_ERRORS, "too_many_files", "invalid_metadata"),
)
async def create_upload_batch(
    campaign_id: str, batch: UploadBatch, principal: Uploader, context: Context
) -> dict[str, Any]:
    """Starts a multi-file upload (up to 20 files) whose metadata applies to every file."""
    await campaign_in_scope(campaign_id, principal, context)
    created = await _create_job(
        context,
        ingest_pb2.CreateJobRequest(
            org_id=principal.org_id,
            campaign_id=campaign_id,
            source=common_pb2.UploadSource.UPLOAD_SOURCE_UI,
            files=[
                ingest_pb2.JobFile(file_name=file.file_name, size_bytes=file.size_bytes)
                for file in batch.files
            ],
            metadata=common_pb2.CallMetadata(**batch.metadata.model_dump()),
        ),
    )
    return job_view(created.job)


async def _create_job(
    context: ApiContext, request: ingest_pb2.CreateJobRequest
) -> ingest_pb2.CreateJobResponse:
    try:
        return await context.peers.create_job(request)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error) from error


# -- uploading a job's files -----------------------------------------------------------------


@router.put(
    "/jobs/{job_id}/items/{item_id}/file",
    status_code=201,
    response_model=ItemUploaded,
    responses=with_duplicate(
        error_responses(
            *_SCOPED_ERRORS,
            *UPLOAD_REJECTIONS,
            "job_cancelled",
            "job_finished",
            "item_already_uploaded",
            "item_cancelled",
        ),
        DuplicateItemUpload,
    ),
    openapi_extra=binary_body("the file's bytes, as they are (not a multipart form)"),
)
async def upload_item_file(
    job_id: str, item_id: str, request: Request, principal: Uploader, context: Context
) -> dict[str, Any] | JSONResponse:
    """Streams one file of a job (the raw request body) to ingest."""
    job = await scoped_job(job_id, principal, context, item_id)
    item = next((item for item in job.items if item.id == item_id), None)
    if item is None:
        raise GatewayError("not_found", f"job {job_id} has no item {item_id}")
    declared = content_length(request)
    header = ingest_pb2.UploadHeader(
        org_id=principal.org_id,
        campaign_id=job.campaign_id,
        source=job.source,
        file_name=item.file_name,
        declared_size_bytes=declared,
        job_id=job.id,
        job_item_id=item.id,
    )
    body = _RawBody(request.stream())
    try:
        accepted = await context.peers.upload_call(header, body.messages())
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"job {job_id} has no item {item_id}") from error
    except GatewayError:
        raise
    except Exception as error:
        # The body broke off mid-file (the client went away); ingest put the item back.
        raise GatewayError(
            "upload_interrupted", "the upload was interrupted before the file was complete"
        ) from error
    uploaded = _uploaded_item(item, accepted, body)
    status = common_pb2.CallStatus.Name(accepted.status).removeprefix("CALL_STATUS_")
    result = {
        "id": accepted.call_id,
        "call_id": accepted.call_id,
        "status": status,
        "item": item_view(uploaded),
    }
    if accepted.status == common_pb2.CallStatus.CALL_STATUS_DUPLICATE:
        duplicate = {
            "code": "duplicate",
            "message": accepted.duplicate_reason,
            "original_call_id": accepted.duplicate_of,
        }
        return JSONResponse({**result, "error": duplicate}, status_code=409)
    return result


@dataclass
class _RawBody:
    """A raw request body as upload messages of UPLOAD_CHUNK_BYTES, counted as it passes."""

    stream: AsyncIterator[bytes]
    size: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float = 0.0

    async def messages(self) -> AsyncIterator[ingest_pb2.UploadCallRequest]:
        buffer = bytearray()
        async for data in self.stream:
            buffer += data
            self.size += len(data)
            if len(buffer) >= UPLOAD_CHUNK_BYTES:
                yield ingest_pb2.UploadCallRequest(chunk=bytes(buffer))
                buffer.clear()
        if buffer:
            yield ingest_pb2.UploadCallRequest(chunk=bytes(buffer))
        self.finished = time.monotonic()


def _uploaded_item(
    item: ingest_pb2.JobItem, accepted: ingest_pb2.UploadAccepted, body: _RawBody
) -> ingest_pb2.JobItem:
    """The item as ingest recorded it, built from the upload's answer (no second lookup)."""
    uploaded = ingest_pb2.JobItem()
    uploaded.CopyFrom(item)
    uploaded.state = ingest_pb2.JobItemState.JOB_ITEM_STATE_UPLOADED
    uploaded.call_id = accepted.call_id
    uploaded.call_status = accepted.status
    uploaded.error_code = uploaded.error_message = ""
    uploaded.bytes_received = body.size
    uploaded.size_bytes = uploaded.size_bytes or body.size
    seconds = (body.finished or time.monotonic()) - body.started
    uploaded.bytes_per_second = body.size / seconds if seconds > 0 else 0.0
    return uploaded


# -- reading and cancelling ------------------------------------------------------------------


@router.get(
    "/campaigns/{campaign_id}/jobs",
    response_model=JobPage,
    responses=error_responses(*_SCOPED_ERRORS),
)
async def list_jobs(
    campaign_id: str,
    principal: Viewer,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str = "",
) -> dict[str, Any]:
    """The campaign's jobs, newest first, with status and counts, one page at a time."""
    await campaign_in_scope(campaign_id, principal, context)
    try:
        page = await context.peers.list_jobs(
            ingest_pb2.ListJobsRequest(
                org_id=principal.org_id,
                campaign_id=campaign_id,
                page_size=limit,
                page_token=cursor,
            )
        )
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error) from error
    return {
        "jobs": [job_view(job, with_items=False) for job in page.jobs],
        "next_cursor": page.next_page_token or None,
    }


@router.get("/jobs/{job_id}", response_model=Job, responses=error_responses(*_SCOPED_ERRORS))
async def get_job(job_id: str, principal: Viewer, context: Context) -> dict[str, Any]:
    """A job with every file's state, call, error and upload progress."""
    return job_view(await scoped_job(job_id, principal, context))


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=Job,
    responses=error_responses(*_SCOPED_ERRORS, "job_cancelled", "job_finished", "conflict"),
)
async def cancel_job(job_id: str, principal: Uploader, context: Context) -> dict[str, Any]:
    """Cancels the files not uploaded yet; files already arriving complete."""
    await scoped_job(job_id, principal, context)
    try:
        job = await context.peers.cancel_job(principal.org_id, job_id)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no job with id {job_id}") from error
    return job_view(job)


@router.post(
    "/jobs/{job_id}/items/{item_id}/cancel",
    response_model=Job,
    responses=error_responses(*_SCOPED_ERRORS, "item_in_flight", "item_already_uploaded"),
)
async def cancel_job_item(
    job_id: str, item_id: str, principal: Uploader, context: Context
) -> dict[str, Any]:
    """Cancels one file of a job (the others go on); 409 item_in_flight means retry shortly."""
    job = await scoped_job(job_id, principal, context, item_id)
    try:
        cancelled = await context.peers.cancel_job_item(
            ingest_pb2.CancelJobItemRequest(
                org_id=principal.org_id,
                campaign_id=job.campaign_id,
                job_id=job.id,
                item_id=item_id,
            )
        )
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"job {job_id} has no item {item_id}") from error
    return job_view(cancelled)


# -- scope -----------------------------------------------------------------------------------


async def campaign_in_scope(campaign_id: str, principal: Principal, context: ApiContext) -> None:
    """Other organisations' and (for an API key) other campaigns' campaigns do not exist."""
    if not principal.sees_campaign(campaign_id) or (
        await context.directory.get_campaign(principal.org_id, campaign_id) is None
    ):
        raise GatewayError("not_found", f"no campaign with id {campaign_id}")


async def scoped_job(
    job_id: str, principal: Principal, context: ApiContext, item_id: str = ""
) -> ingest_pb2.Job:
    """The job (with only item_id's item, if given) if the principal may see its campaign;
    other campaigns' jobs do not exist."""
    try:
        job = await context.peers.get_job(principal.org_id, job_id, item_id)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no job with id {job_id}") from error
    if not principal.sees_campaign(job.campaign_id):
        raise GatewayError("not_found", f"no job with id {job_id}")
    note_campaign(job.campaign_id)
    return job


@dataclass
class BulkForm:
    """A bulk upload's form: the CSV and the names of the audio files the user selected."""

    csv: bytes = b""
    file_names: list[str] = field(default_factory=list)


async def read_bulk_form(request: Request) -> BulkForm:
    """Reads the `csv` part and the `file_name` fields while the body streams in.

    The CSV is cut off as soon as it passes the limit, so a 2 GB CSV costs 5 MB.
    """
    form = BulkForm()
    csv = bytearray()
    csv_parts = 0
    in_csv = False
    try:
        boundary = boundary_of(request.headers.get("content-type"))
        async for event in stream_form(request.stream(), boundary):
            if isinstance(event, FormField) and event.name == "file_name":
                form.file_names.append(event.value)
                if len(form.file_names) > MAX_FILE_NAMES:
                    raise GatewayError(
                        "too_many_files",
                        f"a bulk upload takes at most {MAX_FILE_NAMES} files; split the files "
                        "and the CSV into several bulk uploads",
                    )
            elif isinstance(event, FormField) and event.name == "csv":
                csv_parts += 1
                csv += event.value.encode()
            elif isinstance(event, FileStarted):
                if event.field_name != "csv":
                    raise GatewayError(
                        "invalid_request",
                        f"send the CSV as the file part 'csv' (not '{event.field_name}') and "
                        "the audio files' names as 'file_name' fields; the audio files are "
                        "uploaded one by one once the job exists",
                    )
                csv_parts += 1
                in_csv = True
            elif isinstance(event, FileBytes) and in_csv:
                csv += event.data
                if len(csv) > MAX_CSV_BYTES:
                    raise GatewayError(
                        "csv_too_large",
                        f"the CSV is larger than the {MAX_CSV_BYTES // (1024 * 1024)} MB limit; "
                        "split it into smaller CSV files and upload each as its own bulk upload",
                    )
            elif isinstance(event, FileEnded):
                in_csv = False
    except MalformedMultipartError as error:
        raise GatewayError("malformed_form", str(error)) from error
    if csv_parts == 0:
        raise GatewayError("missing_file", "attach the bulk upload's CSV as the form part 'csv'")
    if csv_parts > 1:
        raise GatewayError("one_file_per_request", "send one CSV per bulk upload")
    form.csv = bytes(csv)
    return form
