"""Use cases: analyse a transcribed call, re-run an analysis, forget a deleted call, read one.

Kafka delivers at least once, so analysing is idempotent on the triggering
event's id: a redelivered event finds the analysis it already produced and
only re-announces it, which also completes a run that crashed between storing
and publishing. A Claude campaign's re-run may instead be queued for the Message
Batches API (`batch_runner` answers it later through `store_and_announce`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping

from callscope.v1 import common_pb2, events_pb2
from callscope_common.events import new_header

from callscope_analysis.domain.batches import BatchItem
from callscope_analysis.domain.conversation import conversation_stats
from callscope_analysis.domain.diff import AnalysisDiff, compare
from callscope_analysis.domain.model import (
    Analysis,
    AnalysisSummary,
    Campaign,
    EvaluatorKind,
    EvaluatorOutcome,
    NewAnalysis,
    Transcript,
)
from callscope_analysis.domain.overrides import (
    REVIEW_EVALUATOR,
    OverrideRejectedError,
    OverrideRequest,
    overridden_results,
    reviewed_evaluation,
)
from callscope_analysis.domain.scoring import score_and_flag
from callscope_analysis.ports import (
    AnalysisStore,
    AnalysisVersionTakenError,
    BatchItemStore,
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


class AnalysisInputError(LookupError):
    """The transcript or the campaign an analysis needs is missing; `reason` is for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    prefer_batch: bool = False,
    batch_queue: BatchItemStore | None = None,
) -> None:
    """Evaluates the campaign's checks on a transcript version with the campaign's evaluator,
    stores a new analysis version and announces it; reports a FAILED status with a reason
    when the inputs are missing or the evaluator cannot answer.

    With `prefer_batch`, a Claude campaign's analysis is queued for the Message Batches API
    instead (when the deployment has a batch queue, which it has when Claude is set up).
    """
    existing = await store.find_by_source_event(header.event_id)
    if existing is not None:
        logger.info(
            "event already analysed, announcing the stored analysis again",
            extra={"analysis_id": existing.id, "version": existing.version},
        )
        await announce(publisher, header, existing)
        return
    batching = batch_queue if prefer_batch else None
    if batching is not None and await batching.get(header.event_id) is not None:
        logger.info("event already queued for a message batch")
        return

    await _publish_status(publisher, header, common_pb2.CALL_STATUS_ANALYZING)
    try:
        transcript, campaign = await read_inputs(
            header=header,
            transcript_version=transcript_version,
            transcripts=transcripts,
            directory=directory,
        )
    except AnalysisInputError as error:
        await report_failure(publisher, header, error.reason)
        return
    evaluator = evaluators.get(campaign.evaluator)
    if evaluator is None:
        await report_failure(publisher, header, not_set_up_reason(campaign.evaluator))
        return
    if batching is not None and campaign.evaluator is EvaluatorKind.CLAUDE:
        await _queue_for_batch(batching, header, transcript, campaign, clock())
        return
    await evaluate_and_store(
        header=header,
        transcript=transcript,
        campaign=campaign,
        evaluator=evaluator,
        store=store,
        publisher=publisher,
        clock=clock,
    )


async def read_inputs(
    *,
    header: events_pb2.EventHeader,
    transcript_version: int,
    transcripts: TranscriptSource,
    directory: CampaignDirectory,
) -> tuple[Transcript, Campaign]:
    """The transcript version (0 = the latest) and the campaign with its checks; raises
    AnalysisInputError, saying what to do, when one is missing or the campaign has no checks."""
    transcript = await read_transcript(
        header=header, transcript_version=transcript_version, transcripts=transcripts
    )
    try:
        campaign = await directory.get_campaign(header.org_id, header.campaign_id)
    except CampaignNotFoundError:
        raise AnalysisInputError(
            f"the call's campaign {header.campaign_id or '(none)'} was not found; "
            "it may have been deleted"
        ) from None
    if not campaign.checks:
        raise AnalysisInputError(
            "the campaign has no quality checks; add checks in the campaign settings, "
            "then run the analysis again"
        )
    return transcript, campaign


async def read_transcript(
    *, header: events_pb2.EventHeader, transcript_version: int, transcripts: TranscriptSource
) -> Transcript:
    """The call's transcript version (0 = the latest); AnalysisInputError when it is missing."""
    try:
        return await transcripts.get_transcript(header.org_id, header.call_id, transcript_version)
    except TranscriptNotFoundError:
        wanted = (
            f"transcript version {transcript_version}" if transcript_version else "a transcript"
        )
        raise AnalysisInputError(
            f"{wanted} of this call was not found; run the transcription again, then the analysis"
        ) from None


async def evaluate_and_store(
    *,
    header: events_pb2.EventHeader,
    transcript: Transcript,
    campaign: Campaign,
    evaluator: CheckEvaluator,
    store: AnalysisStore,
    publisher: Publisher,
    clock: Clock = utc_now,
) -> Analysis | None:
    """Answers the campaign's checks at once, then stores and announces the analysis; None
    (after reporting FAILED with the evaluator's reason) when the evaluator cannot answer."""
    try:
        outcome = await evaluator.assess(transcript, campaign)
    except EvaluatorUnavailableError as error:
        logger.warning(
            "evaluator could not answer",
            extra={"evaluator": evaluator.name, "detail": error.detail},
        )
        await report_failure(publisher, header, error.reason)
        return None
    return await store_and_announce(
        header=header,
        transcript=transcript,
        campaign=campaign,
        outcome=outcome,
        store=store,
        publisher=publisher,
        clock=clock,
    )


async def store_and_announce(
    *,
    header: events_pb2.EventHeader,
    transcript: Transcript,
    campaign: Campaign,
    outcome: EvaluatorOutcome,
    store: AnalysisStore,
    publisher: Publisher,
    clock: Clock = utc_now,
) -> Analysis:
    """Scores and flags an evaluator's results, stores them as the call's next analysis
    version (once per triggering event) and publishes CallAnalyzed."""
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
    await announce(publisher, header, analysis)
    return analysis


async def announce(
    publisher: Publisher, header: events_pb2.EventHeader, analysis: Analysis
) -> None:
    """Publishes CallAnalyzed for a stored analysis (again, for a redelivered event)."""
    await publisher.publish(_call_analyzed(header, analysis))


async def _queue_for_batch(
    queue: BatchItemStore,
    header: events_pb2.EventHeader,
    transcript: Transcript,
    campaign: Campaign,
    now: dt.datetime,
) -> None:
    queued = await queue.queue(
        BatchItem(
            id=header.event_id,
            org_id=header.org_id,
            call_id=header.call_id,
            campaign_id=header.campaign_id,
            transcript_version=transcript.version,
            created_at=now,
            model=campaign.claude_model,
        )
    )
    logger.info(
        "analysis queued for a message batch" if queued else "analysis already queued",
        extra={"transcript_version": transcript.version},
    )


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


class AnalysisNotFoundError(LookupError):
    """The call has no such analysis version in this organisation."""


async def override_check(
    *,
    org_id: str,
    call_id: str,
    base_version: int,
    request: OverrideRequest,
    store: AnalysisStore,
    directory: CampaignDirectory,
    publisher: Publisher,
    clock: Clock = utc_now,
) -> Analysis:
    """Stores a review version with the reviewer's answer to one check, scored and flagged
    again with the campaign's threshold, and announces it on `calls.analyzed`.

    The new version is exactly latest + 1 and the base must be the latest (0 = whatever is
    the latest): a second reviewer who acted on the same version loses the unique-version
    insert and is refused with `analysis_version_moved` instead of overwriting unseen.
    """
    latest = await store.get(org_id, call_id, 0) if org_id and call_id else None
    if latest is None:
        raise AnalysisNotFoundError(f"call {call_id} has no analysis in this organisation")
    if base_version < 0:
        raise OverrideRejectedError(
            "invalid_request", "version must be 0 (the latest) or a version number"
        )
    if base_version and base_version != latest.version:
        if base_version > latest.version:
            raise AnalysisNotFoundError(f"call {call_id} has no analysis version {base_version}")
        raise OverrideRejectedError(
            "analysis_version_moved",
            f"analysis version {base_version} is no longer the latest (version "
            f"{latest.version} is); reload the analysis and override again on it",
        )
    now = clock()
    results = overridden_results(latest, request, now)
    try:
        campaign = await directory.get_campaign(org_id, latest.campaign_id)
    except CampaignNotFoundError:
        raise OverrideRejectedError(
            "campaign_missing",
            f"the call's campaign {latest.campaign_id or '(none)'} was not found; "
            "it may have been deleted, so the call cannot be scored again",
        ) from None
    evaluation = reviewed_evaluation(latest, results, campaign.flag_threshold)
    header = new_header(call_id, org_id, latest.campaign_id)
    try:
        analysis = await store.add_version(
            NewAnalysis(
                call_id=call_id,
                org_id=org_id,
                campaign_id=latest.campaign_id,
                transcript_version=latest.transcript_version,
                source_event_id=f"review:{header.event_id}",
                evaluator=REVIEW_EVALUATOR,
                evaluation=evaluation,
                created_at=now,
                conversation=latest.conversation,
                reviewed_by=request.reviewer.strip(),
                based_on_version=latest.version,
            ),
            latest.version + 1,
        )
    except AnalysisVersionTakenError:
        raise OverrideRejectedError(
            "analysis_version_moved",
            f"another analysis version of the call was stored after version {latest.version} "
            "while this override was being saved; reload the analysis and override again on it",
        ) from None
    logger.info(
        "check overridden by a reviewer",
        extra={
            "analysis_id": analysis.id,
            "version": analysis.version,
            "based_on_version": latest.version,
            "check_id": request.check_id,
            "score": analysis.score,
            "flagged": analysis.flagged,
        },
    )
    # Stored before announced, as every analysis is; a failed publish leaves the version
    # in place and the caller an error: overriding again on the latest announces anew.
    await announce(publisher, header, analysis)
    return analysis


def not_set_up_reason(kind: EvaluatorKind) -> str:
    """Why a campaign's evaluator cannot run on this deployment, and what to do."""
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
        # Marks a reviewer's version: ingest replaces the result and leaves the status alone.
        reviewed_by=analysis.reviewed_by,
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


async def report_failure(publisher: Publisher, header: events_pb2.EventHeader, reason: str) -> None:
    """Publishes the call's analysis as FAILED with a reason for people."""
    logger.warning("analysis failed", extra={"reason": reason})
    await _publish_status(publisher, header, common_pb2.CALL_STATUS_FAILED, reason)
