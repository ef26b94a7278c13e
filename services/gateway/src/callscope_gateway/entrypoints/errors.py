"""One table from error codes to HTTP statuses, and the mapping of peers' gRPC errors."""

from __future__ import annotations

from typing import Any

import grpc
from pydantic import BaseModel

from callscope_gateway.domain.errors import GatewayError

# The gRPC trailing-metadata key ingest uses for a rejection's stable code.
REJECTION_CODE_KEY = "rejection-code"

# HTTP status for each error code, the gateway's own and ingest's rejections alike.
HTTP_STATUS = {
    "invalid_api_key": 401,
    "not_authenticated": 401,
    "account_disabled": 401,
    "invalid_credentials": 401,
    "forbidden": 403,
    "csrf_failed": 403,
    "wrong_campaign": 403,
    "not_found": 404,
    "not_processable": 409,
    "not_rerunnable": 409,
    "call_in_progress": 409,
    "no_transcript": 409,
    "unknown_transcript_version": 422,
    "duplicate_metadata": 409,
    "unknown_agent": 422,
    "agent_not_in_campaign": 422,
    "conflict": 409,
    "email_taken": 409,
    "last_owner": 409,
    "agent_code_taken": 409,
    "folder_slug_taken": 409,
    "unknown_campaign": 422,
    "invalid_field": 422,
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
    # Jobs (multi-file and bulk uploads).
    "too_many_files": 400,
    "invalid_csv": 422,
    "csv_too_large": 413,
    "job_cancelled": 409,
    "item_already_uploaded": 409,
    # Retriable: the item's upload has not yet been seen to break off.
    "item_in_flight": 409,
    "item_cancelled": 409,
    "job_finished": 409,
    # A Range header none of whose bytes exist (call audio).
    "range_not_satisfiable": 416,
    # The review queue: overrides (analysis) and review marks (ingest).
    "not_reviewable": 409,
    "analysis_version_moved": 409,
    "campaign_missing": 409,
    "unknown_check": 422,
    "invalid_answer": 422,
    "invalid_comment": 422,
    "rate_limited": 429,
    "service_unavailable": 503,
}


# What a 503 for a peer that is restarting or overloaded asks the client to wait.
SERVICE_UNAVAILABLE_RETRY_S = 5


def from_rpc(
    error: grpc.aio.AioRpcError, not_found: str = "not found", *, service: str = "a service"
) -> GatewayError:
    """The GatewayError for a peer's gRPC error; re-raises errors that are our own bugs.

    service names the peer in the 503 message ("the SFTP service is unavailable ...").
    """
    code = error.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return GatewayError("not_found", not_found)
    rejection = dict(error.trailing_metadata() or ()).get(REJECTION_CODE_KEY)
    if isinstance(rejection, str) and rejection in HTTP_STATUS:
        return GatewayError(rejection, error.details() or rejection)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return GatewayError("conflict", error.details() or "not possible in the current state")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return GatewayError("invalid_request", error.details() or "invalid request")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return GatewayError(
            "service_unavailable",
            f"{service} is unavailable; try again shortly",
            retry_after_s=SERVICE_UNAVAILABLE_RETRY_S,
        )
    raise error


class ErrorDetail(BaseModel):
    """A stable machine-readable code and a message that says what to do."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorDetail


# The errors any authenticated route can answer, whatever it does.
AUTH_ERRORS = ("not_authenticated", "invalid_api_key", "forbidden", "rate_limited")
# What a route that reads or writes through a peer service can answer besides its own errors.
COMMON_ERRORS = (*AUTH_ERRORS, "invalid_request", "service_unavailable")


def error_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry for these error codes, grouped by HTTP status.

    Every route declares its errors with this (plus COMMON_ERRORS), so the OpenAPI document
    lists each status a client can meet and the codes behind it.
    """
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(HTTP_STATUS[code], []).append(code)
    return {
        status: {"model": ErrorBody, "description": "error codes: " + ", ".join(names)}
        for status, names in sorted(by_status.items())
    }
