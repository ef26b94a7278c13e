"""The public REST API `/api/v1/...`: thin routes over the gateway's handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import grpc
from callscope.v1 import common_pb2
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from callscope_gateway import handlers
from callscope_gateway.adapters.grpc_clients import PeerClients
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.adapters.multipart import (
    MalformedMultipartError,
    boundary_of,
    stream_form,
)
from callscope_gateway.domain.api_keys import ApiKeyScope
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.views import analysis_view, call_view, transcript_view

# The gRPC trailing-metadata key ingest uses for a rejection's stable code.
REJECTION_CODE_KEY = "rejection-code"

# HTTP status for each error code, gateway's own and ingest's rejections alike.
_HTTP_STATUS = {
    "invalid_api_key": 401,
    "wrong_campaign": 403,
    "not_found": 404,
    "not_processable": 409,
    "missing_file": 400,
    "malformed_form": 400,
    "one_file_per_request": 400,
    "upload_interrupted": 400,
    "invalid_request": 400,
    "empty_file": 400,
    "file_too_large": 413,
    "unsupported_format": 415,
    "no_audio_stream": 415,
    "corrupted_audio": 422,
    "too_short": 422,
    "too_long": 422,
    "too_many_channels": 422,
    "invalid_metadata": 422,
    "service_unavailable": 503,
}


@dataclass(frozen=True)
class ApiContext:
    """What the routes need, built once per process."""

    directory: MongoDirectory
    peers: PeerClients


def _context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


Context = Annotated[ApiContext, Depends(_context)]


async def _api_key_scope(
    context: Context, x_api_key: Annotated[str | None, Header()] = None
) -> ApiKeyScope:
    scope = await handlers.resolve_api_key(x_api_key, context.directory)
    if scope is None:
        raise GatewayError(
            "invalid_api_key", "send a valid, unrevoked campaign API key in the X-API-Key header"
        )
    return scope


Scope = Annotated[ApiKeyScope, Depends(_api_key_scope)]

# A stored version number; 0 asks for the latest.
Version = Annotated[int, Query(ge=0)]

router = APIRouter(prefix="/api/v1")


@router.post("/calls/upload", status_code=201, response_model=None)
async def upload_call(
    request: Request, scope: Scope, context: Context
) -> dict[str, Any] | JSONResponse:
    """Streams one recording to ingest; answers with the new call's id and status."""
    try:
        boundary = boundary_of(request.headers.get("content-type"))
        form = stream_form(request.stream(), boundary)
        response = await handlers.upload_call(
            scope,
            form,
            context.peers,
            common_pb2.UploadSource.UPLOAD_SOURCE_API,
            declared_size=_content_length(request),
        )
    except MalformedMultipartError as error:
        raise GatewayError("malformed_form", str(error)) from error
    except grpc.aio.AioRpcError as error:
        raise _from_rpc(error) from error
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


def _content_length(request: Request) -> int:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else 0


@router.get("/calls/{call_id}")
async def get_call(call_id: str, scope: Scope, context: Context) -> dict[str, Any]:
    """A call's status, source, metadata, score, flag and reasons."""
    call = await _scoped_call(call_id, scope, context)
    return call_view(call)


@router.post("/calls/{call_id}/process", status_code=202)
async def process_call(call_id: str, scope: Scope, context: Context) -> dict[str, Any]:
    """Sends a call held by a campaign without auto-processing into the pipeline."""
    await _scoped_call(call_id, scope, context)
    try:
        call = await context.peers.process_call(scope.org_id, call_id)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
            raise GatewayError("not_processable", error.details() or "") from error
        raise _from_rpc(error, f"no call with id {call_id}") from error
    return call_view(call)


@router.get("/calls/{call_id}/transcript")
async def get_transcript(
    call_id: str, scope: Scope, context: Context, version: Version = 0
) -> dict[str, Any]:
    """A transcript version (the latest by default)."""
    await _scoped_call(call_id, scope, context)
    try:
        transcript = await context.peers.get_transcript(scope.org_id, call_id, version)
    except grpc.aio.AioRpcError as error:
        raise _from_rpc(error, "this call has no transcript yet") from error
    return transcript_view(transcript)


@router.get("/calls/{call_id}/analysis")
async def get_analysis(
    call_id: str, scope: Scope, context: Context, version: Version = 0
) -> dict[str, Any]:
    """An analysis version (the latest by default)."""
    await _scoped_call(call_id, scope, context)
    try:
        analysis = await context.peers.get_analysis(scope.org_id, call_id, version)
    except grpc.aio.AioRpcError as error:
        raise _from_rpc(error, "this call has no analysis yet") from error
    return analysis_view(analysis)


async def _scoped_call(call_id: str, scope: ApiKeyScope, context: ApiContext) -> Any:
    """The call if it belongs to the key's campaign; other campaigns' calls do not exist."""
    try:
        call = await context.peers.get_call(scope.org_id, call_id)
    except grpc.aio.AioRpcError as error:
        raise _from_rpc(error, f"no call with id {call_id}") from error
    if call.campaign_id != scope.campaign_id:
        raise GatewayError("not_found", f"no call with id {call_id}")
    return call


def _from_rpc(error: grpc.aio.AioRpcError, not_found: str = "not found") -> GatewayError:
    code = error.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return GatewayError("not_found", not_found)
    rejection = dict(error.trailing_metadata() or ()).get(REJECTION_CODE_KEY)
    if isinstance(rejection, str) and rejection in _HTTP_STATUS:
        return GatewayError(rejection, error.details() or rejection)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return GatewayError("invalid_request", error.details() or "invalid request")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return GatewayError("service_unavailable", "a service is unavailable; try again shortly")
    raise error


async def _gateway_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, GatewayError)
    status = _HTTP_STATUS.get(error.code, 400)
    headers = {"WWW-Authenticate": "X-API-Key"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": error.code, "message": error.message}}, status, headers=headers
    )


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = "not_found" if error.status_code == 404 else "http_error"
    return JSONResponse({"error": {"code": code, "message": str(error.detail)}}, error.status_code)


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    )
    return JSONResponse({"error": {"code": "invalid_request", "message": problems}}, 422)


_LANDING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Callscope</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Callscope</h1>
<p>The REST API is running. The web application is not built yet.</p>
<ul><li><code>POST /api/v1/calls/upload</code> with <code>X-API-Key</code> and a
multipart <code>file</code></li>
<li><code>GET /api/v1/calls/{id}</code>, <code>/transcript</code>, <code>/analysis</code></li>
<li><a href="/openapi.json">OpenAPI description</a></li></ul></body></html>"""


def create_app(context: ApiContext) -> FastAPI:
    """The FastAPI application with its routes and error mapping."""
    app = FastAPI(title="Callscope API", version="1", docs_url=None, redoc_url=None)
    app.state.api = context
    app.include_router(router)
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    async def landing() -> str:
        return _LANDING_PAGE

    return app
