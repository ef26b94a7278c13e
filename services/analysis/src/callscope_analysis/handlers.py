"""Use cases: analyse a transcribed call, re-run an analysis, forget a deleted call, read one.

Kafka delivers at least once, so analysing is idempotent on the triggering
event's id: a redelivered event finds the analysis it already produced and
only re-announces it, which also completes a run that crashed between storing
and publishing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping

from callscope.v1 import common_pb2, events_pb2
from callscope_common.events import new_header

from callscope_analysis.domain.conversation import conversation_stats
from callscope_analysis.domain.diff import AnalysisDiff, compare
from callscope_analysis.domain.model import (
    Analysis,
    AnalysisSummary,
    EvaluatorKind,
    NewAnalysis,
)
from callscope_analysis.domain.scoring import score_and_flag
from callscope_analysis.ports import (
    AnalysisStore,
    CampaignDirectory,
    CampaignNotFoundError,
    CheckEvaluator,
    EvaluatorUnavailableError,
    Publisher,
    TranscriptNotFoundError,
    TranscriptSource,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The current time, timezone-aware."""
    return dt.datetime.now(dt.UTC)


async def analyse_call(
    *,
    header: events_pb2.EventHeader,
    transcript_version: int,
    transcripts: TranscriptSource,
    directory: CampaignDirectory,
    store: AnalysisStore,
    publisher: Publisher,
    evaluators: Mapping[EvaluatorKind, CheckEvaluator],
    clock: Clock = utc_now,
) -> None:
    """Evaluates the campaign's checks on a transcript version with the campaign's evaluator,
    stores a new analysis version and announces it; reports a FAILED status with a reason
    when the inputs are missing or the evaluator cannot answer."""
    existing = await store.find_by_source_event(header.event_id)
    if existing is not None:
        logger.info(
            "event already analysed, announcing the stored analysis again",
            extra={"analysis_id": existing.id, "version": existing.version},
        )
        await publisher.publish(_call_analyzed(header, existing))
        return

    await _publish_status(publisher, header, common_pb2.CALL_STATUS_ANALYZING)
    try:
        transcript = await transcripts.get_transcript(
            header.org_id, header.call_id, transcript_version
        )
    except TranscriptNotFoundError:
        wanted = (
            f"transcript version {transcript_version}" if transcript_version else "a transcript"
        )
        await _fail(
            publisher,
            header,
            f"{wanted} of this call was not found; run the transcription again, then the analysis",
        )
        return
    try:
        campaign = await directory.get_campaign(header.org_id, header.campaign_id)
    except CampaignNotFoundError:
        await _fail(
            publisher,
            header,
            f"the call's campaign {header.campaign_id or '(none)'} was not found; "
            "it may have been deleted",
        )
        return
    if not campaign.checks:
        await _fail(
            publisher,
            header,
            "the campaign has no quality checks; add checks in the campaign settings, "
            "then run the analysis again",
        )
        return

    evaluator = evaluators.get(campaign.evaluator)
    if evaluator is None:
        await _fail(publisher, header, _not_set_up(campaign.evaluator))
        return
    try:
        outcome = await evaluator.assess(transcript, campaign)
    except EvaluatorUnavailableError as error:
        logger.warning(
            "evaluator could not answer",
            extra={"evaluator": evaluator.name, "detail": error.detail},
        )
        await _fail(publisher, header, error.reason)
        return
    evaluation = score_and_flag(
        outcome.results,
        campaign.flag_threshold,
        roles_need_review=transcript.roles_need_review,
    )
    analysis, created = await store.add(
        NewAnalysis(
            call_id=header.call_id,
            org_id=header.org_id,
            campaign_id=header.campaign_id,
            transcript_version=transcript.version,
            source_event_id=header.event_id,
            evaluator=outcome.evaluator,
            evaluation=evaluation,
            created_at=clock(),
            conversation=conversation_stats(transcript),
            usage=outcome.usage,
        )
    )
    logger.info(
        "analysis stored" if created else "analysis already stored by this event",
        extra={
            "analysis_id": analysis.id,
            "version": analysis.version,
            "transcript_version": analysis.transcript_version,
            "score": analysis.score,
            "flagged": analysis.flagged,
        },
    )
    await publisher.publish(_call_analyzed(header, analysis))


async def handle_call_deleted(event: events_pb2.CallDeleted, *, store: AnalysisStore) -> None:
    """A call was deleted: remove every version of its analyses."""
    removed = await store.delete_call(event.header.org_id, event.header.call_id)
    logger.info("analyses of a deleted call removed", extra={"removed": removed})


async def get_analysis(
    *, store: AnalysisStore, org_id: str, call_id: str, version: int
) -> Analysis | None:
    """An analysis version of a call in this organisation (0 = the latest), if it exists."""
    if not org_id or not call_id or version < 0:
        return None
    return await store.get(org_id, call_id, version)


async def list_analyses(
    *, store: AnalysisStore, org_id: str, call_id: str
) -> list[AnalysisSummary]:
    """Every analysis version of a call in this organisation, newest first (none: empty)."""
    if not org_id or not call_id:
        return []
    return await store.list_versions(org_id, call_id)


async def compare_analyses(
    *, store: AnalysisStore, org_id: str, call_id: str, from_version: int, to_version: int
) -> AnalysisDiff | None:
    """What changed from one analysis version to another (0 as to_version: the latest);
    None when either version does not exist."""
    if from_version < 1 or to_version < 0:
        return None
    before = await get_analysis(store=store, org_id=org_id, call_id=call_id, version=from_version)
    after = await get_analysis(store=store, org_id=org_id, call_id=call_id, version=to_version)
    if before is None or after is None:
        return None
    return compare(before, after)


def _not_set_up(kind: EvaluatorKind) -> str:
    if kind is EvaluatorKind.CLAUDE:
        return (
            "the campaign evaluates calls with Claude, but this deployment has no Claude API "
            "key (ANALYSIS_ANTHROPIC_API_KEY): set it, or switch the campaign's evaluator to "
            "local, then run the analysis again"
        )
    return f"the evaluator '{kind.value}' is not available on this deployment"


def _call_analyzed(header: events_pb2.EventHeader, analysis: Analysis) -> events_pb2.CallAnalyzed:
    return events_pb2.CallAnalyzed(
        header=new_header(header.call_id, header.org_id, header.campaign_id),
        analysis_id=analysis.id,
        analysis_version=analysis.version,
        transcript_version=analysis.transcript_version,
        score=analysis.score,
        flagged=analysis.flagged,
        flag_reasons=list(analysis.flag_reasons),
    )


async def _publish_status(
    publisher: Publisher,
    header: events_pb2.EventHeader,
    status: common_pb2.CallStatus.ValueType,
    reason: str = "",
) -> None:
    await publisher.publish(
        events_pb2.CallStatusChanged(
            header=new_header(header.call_id, header.org_id, header.campaign_id),
            status=status,
            stage=common_pb2.STAGE_ANALYSIS,
            reason=reason,
        )
    )


async def _fail(publisher: Publisher, header: events_pb2.EventHeader, reason: str) -> None:
    logger.warning("analysis failed", extra={"reason": reason})
    await _publish_status(publisher, header, common_pb2.CALL_STATUS_FAILED, reason)
