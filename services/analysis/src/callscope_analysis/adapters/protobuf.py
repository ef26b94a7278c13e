"""Translation between the contracts in proto/ and analysis's domain values."""

from __future__ import annotations

import datetime as dt

from callscope.v1 import analyses_pb2, common_pb2, directory_pb2, transcripts_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_analysis.domain.diff import AnalysisDiff
from callscope_analysis.domain.model import (
    Analysis,
    AnalysisSummary,
    AnswerType,
    Campaign,
    Check,
    CheckAnswer,
    CheckResult,
    CheckWindow,
    ConversationStats,
    EvaluatorKind,
    Evidence,
    Override,
    Segment,
    Speaker,
    TokenUsage,
    Transcript,
    Word,
)

_SPEAKER_FROM_PB = {
    common_pb2.SPEAKER_AGENT: Speaker.AGENT,
    common_pb2.SPEAKER_CUSTOMER: Speaker.CUSTOMER,
    common_pb2.SPEAKER_UNKNOWN: Speaker.UNKNOWN,
    common_pb2.SPEAKER_ANY: Speaker.ANY,
}
_SPEAKER_TO_PB = {speaker: value for value, speaker in _SPEAKER_FROM_PB.items()}

_WINDOW_FROM_PB = {
    directory_pb2.CHECK_WINDOW_ANYWHERE: CheckWindow.ANYWHERE,
    directory_pb2.CHECK_WINDOW_OPENING: CheckWindow.OPENING,
    directory_pb2.CHECK_WINDOW_CLOSING: CheckWindow.CLOSING,
    directory_pb2.CHECK_WINDOW_FIRST_HALF: CheckWindow.FIRST_HALF,
}
_WINDOW_TO_PB = {window: value for value, window in _WINDOW_FROM_PB.items()}

_ANSWER_TYPE_FROM_PB = {
    directory_pb2.CHECK_ANSWER_TYPE_YES_NO: AnswerType.YES_NO,
    directory_pb2.CHECK_ANSWER_TYPE_YES_NO_NOT_APPLICABLE: AnswerType.YES_NO_NOT_APPLICABLE,
}
_ANSWER_TYPE_TO_PB = {answer_type: value for value, answer_type in _ANSWER_TYPE_FROM_PB.items()}

_EVALUATOR_FROM_PB = {
    directory_pb2.EVALUATOR_LOCAL: EvaluatorKind.LOCAL,
    directory_pb2.EVALUATOR_CLAUDE: EvaluatorKind.CLAUDE,
}

_ANSWER_TO_PB = {
    CheckAnswer.YES: analyses_pb2.CHECK_ANSWER_YES,
    CheckAnswer.NO: analyses_pb2.CHECK_ANSWER_NO,
    CheckAnswer.NOT_APPLICABLE: analyses_pb2.CHECK_ANSWER_NOT_APPLICABLE,
}


def answer_from_pb(value: int) -> CheckAnswer | None:
    """The domain answer of a `callscope.v1.CheckAnswer`; None when unset or unknown."""
    for answer, number in _ANSWER_TO_PB.items():
        if number == value:
            return answer
    return None


def segment_speaker_from_pb(value: int) -> Speaker:
    """A segment's speaker; an unset speaker is treated as unknown (either party)."""
    speaker = _SPEAKER_FROM_PB.get(value, Speaker.UNKNOWN)  # type: ignore[call-overload]
    return Speaker.UNKNOWN if speaker is Speaker.ANY else speaker


def check_speaker_from_pb(value: int) -> Speaker:
    """A check's speaker; an unset speaker means the check concerns anyone."""
    speaker = _SPEAKER_FROM_PB.get(value, Speaker.ANY)  # type: ignore[call-overload]
    return Speaker.ANY if speaker is Speaker.UNKNOWN else speaker


def transcript_from_pb(transcript: transcripts_pb2.Transcript) -> Transcript:
    """The domain transcript of a `callscope.v1.Transcript`."""
    return Transcript(
        id=transcript.id,
        call_id=transcript.call_id,
        org_id=transcript.org_id,
        version=transcript.version,
        duration_seconds=transcript.duration_seconds,
        segments=tuple(
            Segment(
                speaker=segment_speaker_from_pb(segment.speaker),
                start=segment.start,
                end=segment.end,
                text=segment.text,
                words=tuple(Word(word.text, word.start, word.end) for word in segment.words),
            )
            for segment in transcript.segments
        ),
        roles_need_review=transcript.speaker_roles.needs_review,
    )


def check_from_pb(check: directory_pb2.Check) -> Check:
    """The domain check of a `callscope.v1.Check`."""
    return Check(
        id=check.id,
        name=check.name,
        question=check.question,
        category=check.category,
        weight=check.weight,
        critical=check.critical,
        speaker=check_speaker_from_pb(check.speaker),
        phrases=tuple(check.phrases),
        window=_WINDOW_FROM_PB.get(check.window, CheckWindow.ANYWHERE),
        answer_type=_ANSWER_TYPE_FROM_PB.get(check.answer_type, AnswerType.YES_NO),
        keywords=tuple(check.keywords),
        applies_when=tuple(check.applies_when),
    )


def check_to_pb(check: Check) -> directory_pb2.Check:
    """The `callscope.v1.Check` of a domain check."""
    return directory_pb2.Check(
        id=check.id,
        name=check.name,
        question=check.question,
        category=check.category,
        weight=check.weight,
        critical=check.critical,
        speaker=_SPEAKER_TO_PB[check.speaker],
        phrases=list(check.phrases),
        window=_WINDOW_TO_PB[check.window],
        answer_type=_ANSWER_TYPE_TO_PB[check.answer_type],
        keywords=list(check.keywords),
        applies_when=list(check.applies_when),
    )


def campaign_from_pb(campaign: directory_pb2.Campaign) -> Campaign:
    """The domain campaign of a `callscope.v1.Campaign`."""
    return Campaign(
        id=campaign.id,
        name=campaign.name,
        flag_threshold=campaign.flag_threshold,
        checks=tuple(check_from_pb(check) for check in campaign.checks),
        evaluator=_EVALUATOR_FROM_PB.get(campaign.evaluator, EvaluatorKind.LOCAL),
        claude_model=campaign.claude_model,
    )


def _result_to_pb(result: CheckResult) -> analyses_pb2.CheckResult:
    message = analyses_pb2.CheckResult(
        check=check_to_pb(result.check),
        answer=_ANSWER_TO_PB[result.answer],
        passed=result.passed,
        confidence=result.confidence,
        reasoning=result.reasoning,
        needs_review=result.needs_review,
        review_reason=result.review_reason,
        ai_answer=_ANSWER_TO_PB[result.ai_answer],
    )
    if result.evidence is not None:
        message.evidence.CopyFrom(_evidence_to_pb(result.evidence))
    if result.override is not None:
        message.override.CopyFrom(_override_to_pb(result.override))
    return message


def _override_to_pb(override: Override) -> analyses_pb2.Override:
    return analyses_pb2.Override(
        answer=_ANSWER_TO_PB[override.answer],
        comment=override.comment,
        reviewer=override.reviewer,
        at=_timestamp(override.at),
    )


def _evidence_to_pb(evidence: Evidence) -> analyses_pb2.Evidence:
    return analyses_pb2.Evidence(
        quote=evidence.quote,
        speaker=_SPEAKER_TO_PB[evidence.speaker],
        start=evidence.start,
        end=evidence.end,
    )


def _timestamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def summary_to_pb(summary: AnalysisSummary) -> analyses_pb2.AnalysisSummary:
    """The `callscope.v1.AnalysisSummary` of a version."""
    return analyses_pb2.AnalysisSummary(
        version=summary.version,
        transcript_version=summary.transcript_version,
        evaluator=summary.evaluator,
        score=summary.score,
        flagged=summary.flagged,
        created_at=_timestamp(summary.created_at),
        model=summary.model,
    )


def diff_to_pb(diff: AnalysisDiff) -> analyses_pb2.AnalysisDiff:
    """The `callscope.v1.AnalysisDiff` of two versions."""
    message = analyses_pb2.AnalysisDiff(unchanged=diff.unchanged)
    getattr(message, "from").CopyFrom(summary_to_pb(diff.before))
    message.to.CopyFrom(summary_to_pb(diff.after))
    for change in diff.changes:
        entry = message.changes.add(
            check_id=change.check_id,
            name=change.name,
            answer_changed=change.answer_changed,
            definition_changed=change.definition_changed,
        )
        if change.before is not None:
            entry.before.CopyFrom(_result_to_pb(change.before))
        if change.after is not None:
            entry.after.CopyFrom(_result_to_pb(change.after))
    return message


def _usage_to_pb(usage: TokenUsage | None) -> analyses_pb2.TokenUsage | None:
    if usage is None:
        return None
    return analyses_pb2.TokenUsage(
        model=usage.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        requests=usage.requests,
        cost_usd=usage.cost_usd or 0.0,
        cost_known=usage.cost_usd is not None,
        batched=usage.batched,
    )


def analysis_to_pb(analysis: Analysis) -> analyses_pb2.Analysis:
    """The `callscope.v1.Analysis` of a stored analysis."""
    created_at = _timestamp(analysis.created_at)
    return analyses_pb2.Analysis(
        id=analysis.id,
        call_id=analysis.call_id,
        org_id=analysis.org_id,
        version=analysis.version,
        transcript_version=analysis.transcript_version,
        evaluator=analysis.evaluator,
        score=analysis.score,
        flagged=analysis.flagged,
        flag_reasons=list(analysis.flag_reasons),
        results=[_result_to_pb(result) for result in analysis.results],
        created_at=created_at,
        conversation=_conversation_to_pb(analysis.conversation),
        usage=_usage_to_pb(analysis.usage),
        campaign_id=analysis.campaign_id,
        reviewed_by=analysis.reviewed_by,
        based_on_version=analysis.based_on_version,
    )


def _conversation_to_pb(stats: ConversationStats | None) -> analyses_pb2.ConversationStats | None:
    if stats is None:
        return None
    return analyses_pb2.ConversationStats(
        talk=[
            analyses_pb2.PartyTalk(
                speaker=_SPEAKER_TO_PB[party.speaker],
                seconds=party.seconds,
                share=party.share,
                words=party.words,
                words_per_minute=party.words_per_minute,
            )
            for party in stats.talk
        ],
        longest_silence_seconds=stats.longest_silence_seconds,
        longest_silence_start=stats.longest_silence_start,
        interruptions=stats.interruptions,
        overlap_seconds=stats.overlap_seconds,
    )
