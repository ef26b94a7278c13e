"""Routes of the review queue: flagged calls waiting for a person, overrides, marking reviewed.

The rules live with the data's owners: analysis stores an override as a new analysis
version and scores it (OverrideCheck), ingest keeps the review mark (MarkReviewed). Every
call is read through `scoped_call` / `scoped_call_filter`, so a reviewer sees and touches
only the calls of their scope.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import grpc
from callscope.v1 import analyses_pb2, common_pb2, ingest_pb2
from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import COMMON_ERRORS, error_responses, from_rpc
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.routes.calls import call_page, scoped_call
from callscope_gateway.entrypoints.schemas import Analysis, Call, CallPage
from callscope_gateway.entrypoints.views import analysis_view, call_view

Reviewer = Annotated[Principal, Depends(allowed(Permission.REVIEW_CALLS))]

router = APIRouter(tags=["review"])

# As analysis and ingest bound them (domain/overrides.py, domain/calls.py there).
MAX_COMMENT_CHARS = 2000
MAX_NOTE_CHARS = 2000

_ANSWERS = {
    "YES": analyses_pb2.CHECK_ANSWER_YES,
    "NO": analyses_pb2.CHECK_ANSWER_NO,
    "NOT_APPLICABLE": analyses_pb2.CHECK_ANSWER_NOT_APPLICABLE,
}


class CheckOverrideRequest(BaseModel):
    """A reviewer's answer to one check of the call's latest analysis, and why."""

    model_config = ConfigDict(extra="forbid")

    check_id: str = Field(min_length=1, max_length=200)
    answer: Literal["YES", "NO", "NOT_APPLICABLE"] = Field(
        description="NOT_APPLICABLE only for a check whose answers allow it"
    )
    comment: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS)
    version: int = Field(
        default=0,
        ge=0,
        description="the analysis version the reviewer looked at; refused with "
        "`analysis_version_moved` when it is no longer the latest; 0: the latest",
    )


class ReviewMark(BaseModel):
    """An optional note for the team, kept with the review mark."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=MAX_NOTE_CHARS)


@router.get(
    "/api/v1/review-queue",
    response_model=CallPage,
    responses=error_responses(*COMMON_ERRORS, "wrong_campaign"),
)
async def review_queue(
    principal: Reviewer,
    context: Context,
    campaign_id: str = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str = "",
) -> dict[str, Any]:
    """The flagged, completed calls nobody has marked reviewed yet, newest first, each with
    its flag reasons; only the calls the principal may see."""
    request = ingest_pb2.ListCallsRequest(
        org_id=principal.org_id,
        campaign_id=campaign_id,
        statuses=[common_pb2.CALL_STATUS_COMPLETED],
        flagged=ingest_pb2.FLAG_FILTER_FLAGGED,
        review=ingest_pb2.REVIEW_FILTER_UNREVIEWED,
        page_size=limit,
        page_token=cursor,
    )
    return await call_page(principal, request, context)


@router.post(
    "/api/v1/calls/{call_id}/overrides",
    status_code=201,
    response_model=Analysis,
    responses=error_responses(
        *COMMON_ERRORS,
        "not_found",
        "not_reviewable",
        "analysis_version_moved",
        "campaign_missing",
        "unknown_check",
        "invalid_answer",
        "invalid_comment",
    ),
)
async def override_check(
    call_id: str, override: CheckOverrideRequest, principal: Reviewer, context: Context
) -> dict[str, Any]:
    """Replaces the answer of one check with the reviewer's: a new analysis version, scored
    and flagged again; the evaluator's answer stays visible as `ai_answer`."""
    call = await scoped_call(call_id, principal, context)
    _require_completed(call)
    request = analyses_pb2.OverrideCheckRequest(
        org_id=principal.org_id,
        call_id=call_id,
        base_version=override.version,
        check_id=override.check_id,
        answer=_ANSWERS[override.answer],
        comment=override.comment,
        reviewer=principal.actor,
    )
    try:
        analysis = await context.peers.override_check(request)
    except grpc.aio.AioRpcError as error:
        missing = (
            f"call {call_id} has no analysis version {override.version}"
            if override.version
            else f"call {call_id} has no analysis yet"
        )
        raise from_rpc(error, missing, service="the analysis service") from error
    return analysis_view(analysis)


@router.post(
    "/api/v1/calls/{call_id}/review",
    response_model=Call,
    responses=error_responses(*COMMON_ERRORS, "not_found", "not_reviewable"),
)
async def mark_reviewed(
    call_id: str,
    principal: Reviewer,
    context: Context,
    mark: Annotated[ReviewMark | None, Body()] = None,
) -> dict[str, Any]:
    """Marks the call's current result reviewed (the last step, after any overrides): it
    leaves the review queue until a newer analysis version arrives."""
    call = await scoped_call(call_id, principal, context)
    _require_completed(call)
    try:
        reviewed = await context.peers.mark_reviewed(
            principal.org_id, call_id, principal.actor, mark.note if mark else ""
        )
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, f"no call with id {call_id}") from error
    return call_view(reviewed)


def _require_completed(call: ingest_pb2.Call) -> None:
    # Refused here before anything is written; the owners refuse again on their own data.
    if call.status != common_pb2.CALL_STATUS_COMPLETED:
        status = common_pb2.CallStatus.Name(call.status).removeprefix("CALL_STATUS_").lower()
        raise GatewayError(
            "not_reviewable",
            f"the call is {status}; only a completed call's result can be reviewed "
            "(wait for the analysis to finish)",
        )
