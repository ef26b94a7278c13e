"""Protobuf ↔ domain mapping for the call-management RPCs, and their error statuses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Any, NoReturn, TypeVar

import grpc
from callscope.v1 import common_pb2, ingest_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_ingest.domain.call_queries import (
    CallQuery,
    FlagFilter,
    InvalidCursorError,
    ReviewFilter,
    decode_cursor,
    page_size,
)
from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.errors import (
    CallConflictError,
    CallNotFoundError,
    UploadRejectedError,
)
from callscope_ingest.domain.status import CallStatus

# The trailing-metadata key that carries a refusal's stable code to the gateway.
REJECTION_CODE_KEY = "rejection-code"

T = TypeVar("T")

# Errors of the management RPCs that become a gRPC status with a stable code.
MANAGEMENT_ERRORS = (
    CallNotFoundError,
    CallConflictError,
    UploadRejectedError,
    InvalidCursorError,
    ValueError,
)


async def abort_for(context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> NoReturn:
    """Ends the RPC with the status and code that error stands for."""
    if isinstance(error, CallNotFoundError):
        await context.abort(grpc.StatusCode.NOT_FOUND, f"no call with id {error}")
    if isinstance(error, CallConflictError):
        context.set_trailing_metadata(((REJECTION_CODE_KEY, error.code),))
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, error.message)
    if isinstance(error, UploadRejectedError):
        context.set_trailing_metadata(((REJECTION_CODE_KEY, error.code.value),))
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, error.message)
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    raise AssertionError("unreachable: abort raises")


async def answer(context: grpc.aio.ServicerContext[Any, Any], work: Awaitable[T]) -> T:
    """The result of a management use case, or the RPC ended with its error's status."""
    try:
        return await work
    except MANAGEMENT_ERRORS as error:
        await abort_for(context, error)


def call_query(request: ingest_pb2.ListCallsRequest) -> CallQuery:
    """The domain query of a ListCalls request; ValueError names a bad filter."""
    return CallQuery(
        org_id=request.org_id,
        campaign_id=request.campaign_id,
        campaign_ids=frozenset(request.campaign_ids),
        statuses=frozenset(
            CallStatus(common_pb2.CallStatus.Name(status).removeprefix("CALL_STATUS_"))
            for status in request.statuses
        ),
        sources=frozenset(
            UploadSource(common_pb2.UploadSource.Name(source).removeprefix("UPLOAD_SOURCE_"))
            for source in request.sources
        ),
        agent_id=request.agent_id,
        created_from=_utc(request.created_from) if request.HasField("created_from") else None,
        created_to=_utc(request.created_to) if request.HasField("created_to") else None,
        flagged=FlagFilter(
            ingest_pb2.FlagFilter.Name(request.flagged).removeprefix("FLAG_FILTER_")
        ),
        review=ReviewFilter(
            ingest_pb2.ReviewFilter.Name(request.review).removeprefix("REVIEW_FILTER_")
        ),
        job_id=request.job_id,
        page_size=page_size(request.page_size),
        after=decode_cursor(request.page_token),
    )


def _utc(stamp: Timestamp) -> dt.datetime:
    return stamp.ToDatetime(tzinfo=dt.UTC)
