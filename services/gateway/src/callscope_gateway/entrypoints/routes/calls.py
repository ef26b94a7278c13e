"""Routes of `/api/v1/calls`: upload, read, process, and the call's transcript and analysis."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
from callscope.v1 import common_pb2, ingest_pb2
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from callscope_gateway import handlers
from callscope_gateway.adapters.multipart import (
    MalformedMultipartError,
    boundary_of,
    stream_form,
)
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.api_keys import ApiKeyScope
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.context import ApiContext, Context
from callscope_gateway.entrypoints.errors import from_rpc
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.views import analysis_view, call_view, transcript_view

Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_CALLS))]
Uploader = Annotated[Principal, Depends(allowed(Permission.UPLOAD_CALLS))]
Manager = Annotated[Principal, Depends(allowed(Permission.MANAGE_CALLS))]

# A stored version number; 0 asks for the latest.
Version = Annotated[int, Query(ge=0)]

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


@router.post("/upload", status_code=201, response_model=None)
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


@router.get("/{call_id}")
async def get_call(call_id: str, principal: Viewer, context: Context) -> dict[str, Any]:
    """A call's status, source, metadata, score, flag and reasons."""
    call = await scoped_call(call_id, principal, context)
    return call_view(call)


@router.post("/{call_id}/process", status_code=202)
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


@router.get("/{call_id}/transcript")
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


@router.get("/{call_id}/analysis")
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


async def scoped_call(call_id: str, principal: Principal, context: ApiContext) -> ingest_pb2.Call:
    """The call if the principal may see its campaign; other campaigns' calls do not exist."""
    try:
        call = await context.peers.get_call(principal.org_id, call_id)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    if not principal.sees_campaign(call.campaign_id):
        raise GatewayError("not_found", f"no call with id {call_id}")
    return call
