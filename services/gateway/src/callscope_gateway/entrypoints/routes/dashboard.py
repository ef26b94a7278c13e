"""Read models of the dashboard and agent screens: `/api/v1/dashboard`, `/api/v1/agents/{id}/trend`.

Ingest counts (SummarizeCalls); the request carries the same ListCalls filter, scoped by
the call list's own `scoped_call_filter`, so a screen never counts a call its user cannot
list.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import grpc
from callscope.v1 import common_pb2, ingest_pb2
from fastapi import APIRouter, Depends, Query
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field

from callscope_gateway import directory_handlers
from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.domain.trends import TrendBucket, trend_window
from callscope_gateway.entrypoints.context import ApiContext, Context
from callscope_gateway.entrypoints.errors import COMMON_ERRORS, error_responses, from_rpc
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.query_params import time_bound
from callscope_gateway.entrypoints.routes.calls import scoped_call_filter

Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_CALLS))]

router = APIRouter(prefix="/api/v1", tags=["dashboard"])


class _View(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ScoreStats(_View):
    """Counts and the mean score of a set of calls.

    A call is scored once it has an analysis result (its latest, also while re-running);
    average_score is null when none is scored. flagged counts scored calls flagged.
    """

    calls: int
    scored_calls: int
    average_score: float | None
    flagged: int
    flagged_unreviewed: int = Field(description="flagged calls nobody has marked reviewed")


class ScoreBucket(_View):
    """Scored calls with lower <= score < upper (the last bucket, 90-100, includes 100)."""

    lower: int
    upper: int
    calls: int


class AgentStats(ScoreStats):
    """One agent's calls in the dashboard's range."""

    agent_id: str
    code: str
    name: str


class DashboardFilters(_View):
    """The filters the figures were computed with (times ISO 8601 UTC)."""

    campaign_id: str | None
    from_: str | None = Field(alias="from")
    to: str | None


class Dashboard(_View):
    """Calls per status and source, the score distribution, flags and per-agent figures."""

    filters: DashboardFilters
    total_calls: int
    calls_by_status: dict[str, int] = Field(description="every status, zeros included")
    calls_by_source: dict[str, int] = Field(description="every source, zeros included")
    score_distribution: list[ScoreBucket] = Field(description="ten buckets of ten points")
    scored_calls: int
    average_score: float | None
    flagged: int
    flagged_unreviewed: int
    agents: list[AgentStats] = Field(description="agents with calls in range, most calls first")
    scanned_calls: int = Field(description="calls the score figures were computed from")
    truncated: bool = Field(
        description="more calls matched than one summary reads (100 000): the score figures "
        "cover the newest ones; counts by status and source stay exact. Narrow from/to."
    )


class TrendAgent(_View):
    """The agent the trend is about."""

    id: str
    code: str
    name: str


class TrendPoint(ScoreStats):
    """One day or week of the agent's calls (by upload time, UTC)."""

    start: str = Field(description="the bucket's first instant: UTC midnight, Monday for weeks")


class AgentTrend(_View):
    """An agent's calls, mean score and flags per day or week, empty buckets included."""

    agent: TrendAgent
    bucket: TrendBucket
    from_: str = Field(alias="from")
    to: str
    points: list[TrendPoint]
    totals: ScoreStats


def scoped_filter(
    principal: Principal,
    *,
    campaign_id: str = "",
    agent_id: str = "",
    created_from: Timestamp | None = None,
    created_to: Timestamp | None = None,
) -> ingest_pb2.ListCallsRequest | None:
    """The ListCalls filter of these screens, narrowed by the call list's own scoping
    (`scoped_call_filter`); None when the principal may see none of these calls."""
    return scoped_call_filter(
        principal,
        ingest_pb2.ListCallsRequest(
            org_id=principal.org_id,
            campaign_id=campaign_id,
            agent_id=agent_id,
            created_from=created_from,
            created_to=created_to,
        ),
    )


@router.get(
    "/dashboard",
    response_model=Dashboard,
    responses=error_responses(*COMMON_ERRORS, "wrong_campaign"),
)
async def dashboard(
    principal: Viewer,
    context: Context,
    campaign_id: str = "",
    created_from: Annotated[str, Query(alias="from")] = "",
    created_to: Annotated[str, Query(alias="to")] = "",
) -> Dashboard:
    """The dashboard's figures over the calls the principal may see, uploaded in [from, to).

    from/to take a date (YYYY-MM-DD; a `to` date includes that day) or an ISO date-time.
    """
    asked = ingest_pb2.ListCallsRequest(
        org_id=principal.org_id,
        campaign_id=campaign_id,
        created_from=time_bound(created_from, "from", end_of_day=False),
        created_to=time_bound(created_to, "to", end_of_day=True),
    )
    request = scoped_call_filter(principal, asked)
    # Out of scope (a Manager's unassigned campaign): the figures of no calls, as the list.
    summary = (
        await _summarize(context, ingest_pb2.SummarizeCallsRequest(filter=request))
        if request is not None
        else _empty_summary()
    )
    request = request or asked
    overall = _stats(summary.overall)
    return Dashboard(
        filters=DashboardFilters.model_validate(
            {
                "campaign_id": request.campaign_id or None,
                "from": _time(request.created_from) if request.HasField("created_from") else None,
                "to": _time(request.created_to) if request.HasField("created_to") else None,
            }
        ),
        total_calls=summary.total_calls,
        calls_by_status={
            common_pb2.CallStatus.Name(entry.status).removeprefix("CALL_STATUS_"): entry.calls
            for entry in summary.by_status
        },
        calls_by_source={
            common_pb2.UploadSource.Name(entry.source).removeprefix("UPLOAD_SOURCE_"): entry.calls
            for entry in summary.by_source
        },
        score_distribution=[
            ScoreBucket(lower=entry.lower, upper=entry.upper, calls=entry.calls)
            for entry in summary.score_histogram
        ],
        scored_calls=overall.scored_calls,
        average_score=overall.average_score,
        flagged=overall.flagged,
        flagged_unreviewed=overall.flagged_unreviewed,
        agents=[
            AgentStats(
                agent_id=entry.agent_id,
                code=entry.code,
                name=entry.name,
                **_stats(entry.stats).model_dump(),
            )
            for entry in summary.agents
        ],
        scanned_calls=summary.scanned_calls,
        truncated=summary.truncated,
    )


@router.get(
    "/agents/{agent_id}/trend",
    response_model=AgentTrend,
    responses=error_responses(*COMMON_ERRORS, "not_found"),
)
async def agent_trend(
    *,
    agent_id: str,
    principal: Viewer,
    context: Context,
    bucket: TrendBucket = TrendBucket.DAY,
    created_from: Annotated[str, Query(alias="from")] = "",
    created_to: Annotated[str, Query(alias="to")] = "",
) -> AgentTrend:
    """The agent's calls, mean score and flags per day or ISO week, over [from, to).

    Without `from`: the last 30 days (day) or 12 weeks (week) up to `to`, which defaults
    to the end of today (UTC). At most 400 points. The agent's latest calls are
    `GET /api/v1/calls?agent_id=...`.
    """
    agent = await directory_handlers.get_agent(principal, agent_id, directory=context.directory)
    start, end = trend_window(
        bucket,
        _moment(time_bound(created_from, "from", end_of_day=False)),
        _moment(time_bound(created_to, "to", end_of_day=True)),
        dt.datetime.now(dt.UTC),
    )
    if end <= start:
        raise GatewayError("invalid_request", "from must be before to")
    request = scoped_filter(
        principal, agent_id=agent.id, created_from=_stamp(start), created_to=_stamp(end)
    )
    if request is None:
        # Another agent's trend for an Agent; an agent outside a Manager's campaigns.
        raise GatewayError("not_found", f"no agent with id {agent_id}")
    summary = await _summarize(
        context,
        ingest_pb2.SummarizeCallsRequest(
            filter=request,
            bucket=ingest_pb2.TimeBucket.TIME_BUCKET_WEEK
            if bucket is TrendBucket.WEEK
            else ingest_pb2.TimeBucket.TIME_BUCKET_DAY,
        ),
    )
    return AgentTrend.model_validate(
        {
            "agent": TrendAgent(id=agent.id, code=agent.code, name=agent.name),
            "bucket": bucket,
            "from": _time(_stamp(start)),
            "to": _time(_stamp(end)),
            "points": [
                TrendPoint(start=_time(period.start), **_stats(period.stats).model_dump())
                for period in summary.periods
            ],
            "totals": _stats(summary.overall),
        }
    )


async def _summarize(
    context: ApiContext, request: ingest_pb2.SummarizeCallsRequest
) -> ingest_pb2.CallSummary:
    try:
        return await context.peers.summarize_calls(request)
    except grpc.aio.AioRpcError as error:
        raise from_rpc(error, service="the ingest service") from error


def _empty_summary() -> ingest_pb2.CallSummary:
    """What ingest answers for no calls: every status and source at zero, ten empty buckets."""
    return ingest_pb2.CallSummary(
        by_status=[
            ingest_pb2.StatusCount(status=value, calls=0)
            for value in common_pb2.CallStatus.values()
            if value != common_pb2.CallStatus.CALL_STATUS_UNSPECIFIED
        ],
        by_source=[
            ingest_pb2.SourceCount(source=value, calls=0)
            for value in common_pb2.UploadSource.values()
            if value != common_pb2.UploadSource.UPLOAD_SOURCE_UNSPECIFIED
        ],
        score_histogram=[
            ingest_pb2.ScoreBucket(lower=lower, upper=lower + 10, calls=0)
            for lower in range(0, 100, 10)
        ],
    )


def _stats(stats: ingest_pb2.ScoreStats) -> ScoreStats:
    return ScoreStats(
        calls=stats.calls,
        scored_calls=stats.scored_calls,
        average_score=round(stats.average_score, 2) if stats.scored_calls else None,
        flagged=stats.flagged,
        flagged_unreviewed=stats.flagged_unreviewed,
    )


def _moment(stamp: Timestamp | None) -> dt.datetime | None:
    return stamp.ToDatetime(tzinfo=dt.UTC) if stamp is not None else None


def _stamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _time(stamp: Timestamp) -> str:
    return stamp.ToDatetime(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
