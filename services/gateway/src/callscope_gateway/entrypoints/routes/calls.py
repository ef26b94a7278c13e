"""Routes of `/api/v1/calls`: upload, read, process, and the call's transcript and analysis."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
from callscope.v1 import common_pb2, ingest_pb2
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from callscope_gateway import handlers
from callscope_gateway.adapters.multipart import (
    MalformedMultipartError,
    boundary_of,
    stream_form,
)
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.api_keys import ApiKeyScope
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.audio_stream import AUDIO_RESPONSES, audio_response
from callscope_gateway.entrypoints.audit import note_campaign
from callscope_gateway.entrypoints.context import ApiContext, Context
from callscope_gateway.entrypoints.errors import COMMON_ERRORS, error_responses, from_rpc
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.query_params import (
    INT32_MAX,
    enum_value,
    flag_filter,
    split,
    time_bound,
)
from callscope_gateway.entrypoints.schemas import (
    Analysis,
    AnalysisDiff,
    AnalysisHistory,
    Call,
    CallPage,
    DuplicateUpload,
    Transcript,
    UploadAccepted,
    multipart_body,
    with_duplicate,
)
from callscope_gateway.entrypoints.views import (
    analysis_diff_view,
    analysis_summary_view,
    analysis_view,
    call_view,
    transcript_view,
)

Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_CALLS))]
Uploader = Annotated[Principal, Depends(allowed(Permission.UPLOAD_CALLS))]
Manager = Annotated[Principal, Depends(allowed(Permission.MANAGE_CALLS))]

# A stored version number; 0 asks for the latest.
Version = Annotated[int, Query(ge=0, le=INT32_MAX)]

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])

# Ingest's refusals of an upload's file and form (domain/errors.py's RejectionCode there).
UPLOAD_REJECTIONS = (
    "missing_file",
    "malformed_form",
    "one_file_per_request",
    "upload_interrupted",
    "empty_file",
    "file_too_large",
    "unsupported_format",
    "no_audio_stream",
    "corrupted_audio",
    "too_short",
    "too_long",
    "too_many_channels",
    "invalid_metadata",
)
# What any route reading one call can answer: the call may not exist (or be out of scope).
_CALL_ERRORS = (*COMMON_ERRORS, "not_found")

_UPLOAD_FORM = multipart_body(
    {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "the recording (MP3, WAV, M4A, ...); metadata fields may come "
            "before or after it",
        },
        "campaign_id": {
            "type": "string",
            "description": "optional; must be the API key's own campaign",
        },
        **{name: {"type": "string"} for name in handlers.METADATA_FIELDS},
    },
    required=("file",),
)


@router.post(
    "/upload",
    status_code=201,
    response_model=UploadAccepted,
    responses=with_duplicate(
        error_responses(*COMMON_ERRORS, "wrong_campaign", *UPLOAD_REJECTIONS), DuplicateUpload
    ),
    openapi_extra={**_UPLOAD_FORM, "security": [{"ApiKeyAuth": []}]},
)
async def upload_call(
    request: Request, principal: Uploader, context: Context
) -> dict[str, Any] | JSONResponse:
    """Streams one recording to ingest; answers with the new call's id and status."""
    if principal.campaign_id is None:
        raise GatewayError(
            "forbidden",
            "this endpoint takes a campaign API key (X-API-Key); signed-in users upload "
            "through /api/v1/campaigns/{campaign_id}/upload-batches",
        )
    scope = ApiKeyScope(principal.key_id, principal.org_id, principal.campaign_id)
    try:
        boundary = boundary_of(request.headers.get("content-type"))
        form = stream_form(request.stream(), boundary)
        response = await handlers.upload_call(
            scope,
            form,
            context.peers,
            common_pb2.UploadSource.UPLOAD_SOURCE_API,
            declared_size=content_length(request),
        )
    except MalformedMultipartError as error:
        raise GatewayError("malformed_form", str(error)) from error
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error) from error
    status = common_pb2.CallStatus.Name(response.status).removeprefix("CALL_STATUS_")
    created = {"id": response.call_id, "call_id": response.call_id, "status": status}
    if response.status == common_pb2.CallStatus.CALL_STATUS_DUPLICATE:
        # The duplicate is recorded (no transcription or analysis runs); 409 tells
        # the client, with the original's id, as the product guide asks.
        duplicate = {
            "code": "duplicate",
            "message": response.duplicate_reason,
            "original_call_id": response.duplicate_of,
        }
        return JSONResponse({**created, "error": duplicate}, status_code=409)
    return created


def content_length(request: Request) -> int:
    """The request's announced body size, 0 when it did not announce one."""
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else 0


@router.get("/{call_id}", response_model=Call, responses=error_responses(*_CALL_ERRORS))
async def get_call(call_id: str, principal: Viewer, context: Context) -> dict[str, Any]:
    """A call's status, source, metadata, score, flag and reasons."""
    call = await scoped_call(call_id, principal, context)
    return call_view(call)


@router.post(
    "/{call_id}/process",
    status_code=202,
    response_model=Call,
    responses=error_responses(*_CALL_ERRORS, "not_processable", "conflict"),
)
async def process_call(call_id: str, principal: Manager, context: Context) -> dict[str, Any]:
    """Sends a call held by a campaign without auto-processing into the pipeline."""
    await scoped_call(call_id, principal, context)
    try:
        call = await context.peers.process_call(principal.org_id, call_id)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
            raise GatewayError("not_processable", error.details() or "") from error
        raise from_rpc(error, f"no call with id {call_id}") from error
    return call_view(call)


@router.get(
    "/{call_id}/transcript", response_model=Transcript, responses=error_responses(*_CALL_ERRORS)
)
async def get_transcript(
    call_id: str, principal: Viewer, context: Context, version: Version = 0
) -> dict[str, Any]:
    """A transcript version (the latest by default)."""
    await scoped_call(call_id, principal, context)
    try:
        transcript = await context.peers.get_transcript(principal.org_id, call_id, version)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, "this call has no transcript yet") from error
    return transcript_view(transcript)


@router.get(
    "/{call_id}/analysis", response_model=Analysis, responses=error_responses(*_CALL_ERRORS)
)
async def get_analysis(
    call_id: str, principal: Viewer, context: Context, version: Version = 0
) -> dict[str, Any]:
    """An analysis version (the latest by default)."""
    await scoped_call(call_id, principal, context)
    try:
        analysis = await context.peers.get_analysis(principal.org_id, call_id, version)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, "this call has no analysis yet") from error
    return analysis_view(analysis)


@router.get(
    "/{call_id}/analyses", response_model=AnalysisHistory, responses=error_responses(*_CALL_ERRORS)
)
async def list_analyses(call_id: str, principal: Viewer, context: Context) -> dict[str, Any]:
    """The call's analysis history, newest first: each version's score, flag and evaluator."""
    await scoped_call(call_id, principal, context)
    try:
        response = await context.peers.list_analyses(principal.org_id, call_id)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error) from error
    return {"analyses": [analysis_summary_view(summary) for summary in response.analyses]}


@router.get(
    "/{call_id}/analyses/diff",
    response_model=AnalysisDiff,
    responses=error_responses(*_CALL_ERRORS),
)
async def compare_analyses(
    call_id: str,
    principal: Viewer,
    context: Context,
    from_version: Annotated[int, Query(alias="from", ge=1, le=INT32_MAX)],
    to_version: Annotated[int, Query(alias="to", ge=0, le=INT32_MAX)] = 0,
) -> dict[str, Any]:
    """Which checks changed from one analysis version to another (`to` 0: the latest)."""
    await scoped_call(call_id, principal, context)
    try:
        diff = await context.peers.compare_analyses(
            principal.org_id, call_id, from_version, to_version
        )
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, "one of these analysis versions does not exist") from error
    return analysis_diff_view(diff)


@router.get("/{call_id}/audio", response_class=Response, responses=AUDIO_RESPONSES)
async def get_audio(
    call_id: str,
    principal: Viewer,
    context: Context,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
) -> Response:
    """The call's recording for playback: whole, or the one byte range `Range` asks for."""
    call = await scoped_call(call_id, principal, context)
    return await audio_response(call, range_header, if_range, principal.org_id, context)


async def scoped_call(call_id: str, principal: Principal, context: ApiContext) -> ingest_pb2.Call:
    """The call if the principal may see it (`Principal.sees_call`: its campaign, and for an
    Agent their own); calls out of scope do not exist. Every route of one call goes through
    here, and it tells the audit log the call's campaign."""
    try:
        call = await context.peers.get_call(principal.org_id, call_id)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    if not principal.sees_call(call):
        raise GatewayError("not_found", f"no call with id {call_id}")
    note_campaign(call.campaign_id)
    return call


def scoped_call_filter(
    principal: Principal, request: ingest_pb2.ListCallsRequest
) -> ingest_pb2.ListCallsRequest | None:
    """The ListCalls filter narrowed to the calls the principal may see; None when it sees
    none. Every list or summary of calls (call list, review queue, dashboard) goes through
    here: an API key's other campaign is `wrong_campaign`; a Manager's unassigned campaign
    lists nothing, like a campaign that does not exist; an Agent lists their own calls."""
    scope = principal.call_scope()
    if principal.campaign_id is not None:
        if request.campaign_id and request.campaign_id != principal.campaign_id:
            raise GatewayError(
                "wrong_campaign", "this API key belongs to another campaign; use that one's key"
            )
        request.campaign_id = principal.campaign_id
    if scope.sees_nothing:
        return None
    if scope.campaign_ids is not None:
        if request.campaign_id and request.campaign_id not in scope.campaign_ids:
            return None
        del request.campaign_ids[:]
        request.campaign_ids.extend(sorted(scope.campaign_ids))
    if scope.agent_id is not None:
        if request.agent_id and request.agent_id != scope.agent_id:
            return None
        request.agent_id = scope.agent_id
    return request


class MetadataChanges(BaseModel):
    """The metadata fields to replace; an empty string or null clears a field."""

    model_config = ConfigDict(extra="forbid")

    agent_name: str | None = None
    agent_code: str | None = None
    call_type: str | None = None
    call_date: str | None = None
    customer_id: str | None = None
    disposition: str | None = None
    client_reference: str | None = None


class AgentChoice(BaseModel):
    """The agent to link a call to."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=64)


class SpeakerSwap(BaseModel):
    """The transcript version whose agent and customer are the wrong way round; 0 is the latest."""

    model_config = ConfigDict(extra="forbid")

    transcript_version: int = Field(default=0, ge=0, le=INT32_MAX)


class AnalysisRun(BaseModel):
    """Which transcript version to analyse again (0 is the latest), and whether a Claude
    campaign's analysis may wait for the Message Batches API (bulk re-analysis at half price)."""

    model_config = ConfigDict(extra="forbid")

    transcript_version: int = Field(default=0, ge=0, le=INT32_MAX)
    batch: StrictBool = False


@router.get(
    "", response_model=CallPage, responses=error_responses(*COMMON_ERRORS, "wrong_campaign")
)
async def list_calls(  # one keyword parameter per filter of the guide's call list
    *,
    principal: Viewer,
    context: Context,
    campaign_id: str = "",
    status: Annotated[list[str] | None, Query()] = None,
    source: Annotated[list[str] | None, Query()] = None,
    agent_id: str = "",
    created_from: Annotated[str, Query(alias="from")] = "",
    created_to: Annotated[str, Query(alias="to")] = "",
    flagged: bool | None = None,
    job_id: str = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str = "",
) -> dict[str, Any]:
    """The calls the principal may see, newest first, filtered, one page at a time."""
    request = ingest_pb2.ListCallsRequest(
        org_id=principal.org_id,
        campaign_id=campaign_id,
        statuses=[enum_value(common_pb2.CallStatus, "CALL_STATUS_", s) for s in split(status)],
        sources=[enum_value(common_pb2.UploadSource, "UPLOAD_SOURCE_", s) for s in split(source)],
        agent_id=agent_id,
        created_from=time_bound(created_from, "from", end_of_day=False),
        created_to=time_bound(created_to, "to", end_of_day=True),
        flagged=flag_filter(flagged),
        job_id=job_id,
        page_size=limit,
        page_token=cursor,
    )
    return await call_page(principal, request, context)


async def call_page(
    principal: Principal, request: ingest_pb2.ListCallsRequest, context: ApiContext
) -> dict[str, Any]:
    """One page of calls matching the request, narrowed to what the principal may see."""
    scoped = scoped_call_filter(principal, request)
    if scoped is None:
        return {"calls": [], "next_cursor": None}
    try:
        page = await context.peers.list_calls(scoped)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error) from error
    return {
        "calls": [call_view(call) for call in page.calls],
        "next_cursor": page.next_page_token or None,
    }


@router.patch(
    "/{call_id}",
    response_model=Call,
    responses=error_responses(
        *_CALL_ERRORS, "invalid_metadata", "duplicate_metadata", "call_in_progress", "conflict"
    ),
)
async def edit_metadata(
    call_id: str, changes: MetadataChanges, principal: Manager, context: Context
) -> dict[str, Any]:
    """Replaces the metadata fields given; the agent link follows a new agent_code."""
    await scoped_call(call_id, principal, context)
    given = {name: getattr(changes, name) or "" for name in changes.model_fields_set}
    if not given:
        raise GatewayError("invalid_request", "send at least one metadata field to change")
    request = ingest_pb2.UpdateCallMetadataRequest(
        org_id=principal.org_id,
        call_id=call_id,
        metadata=common_pb2.CallMetadata(**given),
        fields=sorted(given),
    )
    try:
        call = await context.peers.update_call_metadata(request)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    return call_view(call)


@router.put(
    "/{call_id}/agent",
    response_model=Call,
    responses=error_responses(
        *_CALL_ERRORS, "unknown_agent", "agent_not_in_campaign", "call_in_progress", "conflict"
    ),
)
async def link_agent(
    call_id: str, choice: AgentChoice, principal: Manager, context: Context
) -> dict[str, Any]:
    """Links the call to one of its campaign's agents by hand."""
    await scoped_call(call_id, principal, context)
    try:
        call = await context.peers.link_agent(principal.org_id, call_id, choice.agent_id)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    return call_view(call)


@router.delete(
    "/{call_id}/agent",
    response_model=Call,
    responses=error_responses(*_CALL_ERRORS, "call_in_progress", "conflict"),
)
async def unlink_agent(call_id: str, principal: Manager, context: Context) -> dict[str, Any]:
    """Removes the call's agent link."""
    await scoped_call(call_id, principal, context)
    try:
        call = await context.peers.link_agent(principal.org_id, call_id, "")
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    return call_view(call)


@router.delete(
    "/{call_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(*_CALL_ERRORS, "call_in_progress", "conflict"),
)
async def delete_call(call_id: str, principal: Manager, context: Context) -> Response:
    """Deletes the call, its audio, and (through `calls.deleted`) its transcripts and analyses."""
    await scoped_call(call_id, principal, context)
    try:
        await context.peers.delete_call(principal.org_id, call_id)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    return Response(status_code=204)


@router.post(
    "/{call_id}/rerun-transcription",
    status_code=202,
    response_model=Call,
    responses=error_responses(*_CALL_ERRORS, "not_rerunnable", "call_in_progress", "conflict"),
)
async def rerun_transcription(call_id: str, principal: Manager, context: Context) -> dict[str, Any]:
    """Transcribes a completed or failed call again; a new version, the old ones kept."""
    await scoped_call(call_id, principal, context)
    try:
        call = await context.peers.rerun_transcription(principal.org_id, call_id)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    return call_view(call)


@router.post(
    "/{call_id}/swap-speakers",
    status_code=202,
    response_model=Call,
    responses=error_responses(
        *_CALL_ERRORS,
        "unknown_transcript_version",
        "no_transcript",
        "not_rerunnable",
        "call_in_progress",
        "conflict",
    ),
)
async def swap_speakers(
    call_id: str,
    principal: Manager,
    context: Context,
    swap: Annotated[SpeakerSwap | None, Body()] = None,
) -> dict[str, Any]:
    """Exchanges agent and customer: a new transcript version, then a new analysis."""
    await scoped_call(call_id, principal, context)
    version = swap.transcript_version if swap else 0
    if version:
        await _require_transcript_version(call_id, version, principal, context)
    try:
        call = await context.peers.swap_speakers(
            principal.org_id, call_id, version, principal.actor
        )
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    return call_view(call)


async def _require_transcript_version(
    call_id: str, version: int, principal: Principal, context: ApiContext
) -> None:
    # Refused before anything is queued: transcription would fail the call instead.
    try:
        await context.peers.get_transcript(principal.org_id, call_id, version)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            raise GatewayError(
                "unknown_transcript_version",
                f"transcript_version: the call has no transcript version {version}; "
                "send 0 (or no body) for the latest",
            ) from error
        raise from_rpc(error) from error


@router.post(
    "/{call_id}/run-analysis",
    status_code=202,
    response_model=Call,
    responses=error_responses(
        *_CALL_ERRORS, "no_transcript", "not_rerunnable", "call_in_progress", "conflict"
    ),
)
async def run_analysis(
    call_id: str,
    principal: Manager,
    context: Context,
    run: Annotated[AnalysisRun | None, Body()] = None,
) -> dict[str, Any]:
    """Evaluates the checks again on a transcript version; a new analysis version."""
    await scoped_call(call_id, principal, context)
    version = run.transcript_version if run else 0
    try:
        call = await context.peers.run_analysis(
            principal.org_id, call_id, version, prefer_batch=bool(run and run.batch)
        )
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    return call_view(call)
