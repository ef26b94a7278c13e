"""JSON shapes of the public API, built from the services' protobuf messages."""

from __future__ import annotations

from typing import Any

from callscope.v1 import analyses_pb2, common_pb2, ingest_pb2, transcripts_pb2
from google.protobuf.timestamp_pb2 import Timestamp


def _enum(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


def _time(stamp: Timestamp) -> str | None:
    return stamp.ToDatetime().isoformat() + "Z" if stamp.seconds or stamp.nanos else None


def call_view(call: ingest_pb2.Call) -> dict[str, Any]:
    """A call as API clients see it."""
    metadata = {
        field.name: value for field, value in call.metadata.ListFields() if isinstance(value, str)
    }
    has_result = call.HasField("result")
    return {
        "id": call.id,
        "campaign_id": call.campaign_id,
        "status": _enum(common_pb2.CallStatus, call.status, "CALL_STATUS_"),
        "source": _enum(common_pb2.UploadSource, call.source, "UPLOAD_SOURCE_"),
        "file_name": call.file_name,
        "metadata": metadata,
        "duration_seconds": round(call.duration_seconds, 3),
        "channels": call.channels,
        "score": call.result.score if has_result else None,
        "flagged": call.result.flagged if has_result else None,
        "flag_reasons": list(call.result.flag_reasons) if has_result else [],
        "transcript_version": call.result.transcript_version if has_result else None,
        "analysis_version": call.result.analysis_version if has_result else None,
        "failure": {
            "stage": _enum(common_pb2.Stage, call.failed_stage, "STAGE_"),
            "reason": call.failure_reason,
        }
        if call.failure_reason
        else None,
        "queued": call.HasField("queued_at"),
        "duplicate_of": call.duplicate_of or None,
        "duplicate_reason": call.duplicate_reason or None,
        "agent": {
            "id": call.agent.agent_id,
            "code": call.agent.code,
            "name": call.agent.name,
            "linked_by": _enum(ingest_pb2.AgentLinkMethod, call.agent.method, "AGENT_LINK_METHOD_"),
        }
        if call.HasField("agent")
        else None,
        "job_id": call.job_id or None,
        # Set once a reviewer marked the current result reviewed; a newer result clears it.
        "review": {
            "reviewed_by": call.review.reviewed_by,
            "reviewed_at": _time(call.review.reviewed_at),
            "note": call.review.note,
            "analysis_version": call.review.analysis_version,
        }
        if call.HasField("review")
        else None,
        "created_at": _time(call.created_at),
        "updated_at": _time(call.updated_at),
    }


def transcript_view(transcript: transcripts_pb2.Transcript) -> dict[str, Any]:
    """A transcript version with speaker-labelled, word-timed segments."""
    return {
        "call_id": transcript.call_id,
        "campaign_id": transcript.campaign_id or None,
        "version": transcript.version,
        "provider": transcript.provider,
        "model": transcript.model,
        "language": transcript.language,
        "duration_seconds": transcript.duration_seconds,
        "created_at": _time(transcript.created_at),
        "speaker_roles": speaker_roles_view(transcript.speaker_roles)
        if transcript.HasField("speaker_roles")
        else None,
        "settings": dict(sorted(transcript.settings.items())),
        "segments": [
            {
                "speaker": _enum(common_pb2.Speaker, segment.speaker, "SPEAKER_"),
                "start": round(segment.start, 3),
                "end": round(segment.end, 3),
                "text": segment.text,
                "words": [
                    {
                        "text": word.text,
                        "start": round(word.start, 3),
                        "end": round(word.end, 3),
                        "probability": round(word.probability, 3),
                    }
                    for word in segment.words
                ],
            }
            for segment in transcript.segments
        ],
    }


def speaker_roles_view(roles: transcripts_pb2.SpeakerRoles) -> dict[str, Any]:
    """How a transcript's AGENT and CUSTOMER were decided, and whether to review them."""
    return {
        "source": _enum(transcripts_pb2.RoleSource, roles.source, "ROLE_SOURCE_").lower()
        if roles.source
        else None,
        "confidence": round(roles.confidence, 3),
        "needs_review": roles.needs_review,
        "evidence": list(roles.evidence),
        # Set on a version a user swapped: who did, and which version they swapped.
        "swapped_by": roles.swapped_by or None,
        "swapped_from_version": roles.swapped_from_version or None,
    }


def analysis_view(analysis: analyses_pb2.Analysis) -> dict[str, Any]:
    """An analysis version: score, flag decision and each check's answer with evidence."""
    return {
        "call_id": analysis.call_id,
        "version": analysis.version,
        "transcript_version": analysis.transcript_version,
        "evaluator": analysis.evaluator,
        "score": analysis.score,
        "flagged": analysis.flagged,
        "flag_reasons": list(analysis.flag_reasons),
        "created_at": _time(analysis.created_at),
        "conversation": _conversation_view(analysis.conversation)
        if analysis.HasField("conversation")
        else None,
        "usage": _usage_view(analysis.usage) if analysis.HasField("usage") else None,
        "results": [_result_view(result) for result in analysis.results],
        # A review version (evaluator "review"): who overrode, and on which version.
        "reviewed_by": analysis.reviewed_by or None,
        "based_on_version": analysis.based_on_version or None,
    }


def _result_view(result: analyses_pb2.CheckResult) -> dict[str, Any]:
    """One check's answer as it was defined and answered in that version."""
    return {
        "check_id": result.check.id,
        "name": result.check.name,
        "question": result.check.question,
        "category": result.check.category,
        "weight": result.check.weight,
        "critical": result.check.critical,
        "answer": _enum(analyses_pb2.CheckAnswer, result.answer, "CHECK_ANSWER_"),
        "passed": result.passed,
        "confidence": round(result.confidence, 3),
        "evidence": {
            "quote": result.evidence.quote,
            "speaker": _enum(common_pb2.Speaker, result.evidence.speaker, "SPEAKER_"),
            "start": round(result.evidence.start, 3),
            "end": round(result.evidence.end, 3),
        }
        if result.HasField("evidence") and result.evidence.quote
        else None,
        "reasoning": result.reasoning,
        "needs_review": result.needs_review,
        "review_reason": result.review_reason,
        # `answer`/`passed`/`needs_review` are what the score counts; `ai_answer` is the
        # evaluator's own (confidence, evidence and reasoning are the evaluator's too).
        "ai_answer": _enum(
            analyses_pb2.CheckAnswer, result.ai_answer or result.answer, "CHECK_ANSWER_"
        ),
        "override": {
            "answer": _enum(analyses_pb2.CheckAnswer, result.override.answer, "CHECK_ANSWER_"),
            "comment": result.override.comment,
            "reviewer": result.override.reviewer,
            "at": _time(result.override.at),
        }
        if result.HasField("override")
        else None,
    }


def _usage_view(usage: analyses_pb2.TokenUsage) -> dict[str, Any]:
    """What a Claude evaluation consumed; cost_usd is null for a model without a known price."""
    return {
        "model": usage.model,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "requests": usage.requests,
        "cost_usd": round(usage.cost_usd, 6) if usage.cost_known else None,
        "batched": usage.batched,
    }


def analysis_summary_view(summary: analyses_pb2.AnalysisSummary) -> dict[str, Any]:
    """One line of a call's analysis history."""
    return {
        "version": summary.version,
        "transcript_version": summary.transcript_version,
        "evaluator": summary.evaluator,
        "model": summary.model or None,
        "score": summary.score,
        "flagged": summary.flagged,
        "created_at": _time(summary.created_at),
    }


def analysis_diff_view(diff: analyses_pb2.AnalysisDiff) -> dict[str, Any]:
    """Two versions side by side: their summaries and each check whose result changed."""
    return {
        "from": analysis_summary_view(getattr(diff, "from")),
        "to": analysis_summary_view(diff.to),
        "score_change": round(diff.to.score - getattr(diff, "from").score, 1),
        "unchanged": diff.unchanged,
        "changes": [
            {
                "check_id": change.check_id,
                "name": change.name,
                "change": _change_kind(change),
                "answer_changed": change.answer_changed,
                "definition_changed": change.definition_changed,
                "before": _result_view(change.before) if change.HasField("before") else None,
                "after": _result_view(change.after) if change.HasField("after") else None,
            }
            for change in diff.changes
        ],
    }


def _change_kind(change: analyses_pb2.CheckChange) -> str:
    if not change.HasField("before"):
        return "added"
    if not change.HasField("after"):
        return "removed"
    return "answer_changed" if change.answer_changed else "definition_changed"


def _conversation_view(stats: analyses_pb2.ConversationStats) -> dict[str, Any]:
    """Talk time per party, the longest silence and interruptions, beside the checks."""
    return {
        "talk": [
            {
                "speaker": _enum(common_pb2.Speaker, party.speaker, "SPEAKER_"),
                "seconds": round(party.seconds, 2),
                "share": round(party.share, 3),
                "words": party.words,
                "words_per_minute": round(party.words_per_minute, 1),
            }
            for party in stats.talk
        ],
        "longest_silence_seconds": round(stats.longest_silence_seconds, 2),
        "longest_silence_start": round(stats.longest_silence_start, 2),
        "interruptions": stats.interruptions,
        "overlap_seconds": round(stats.overlap_seconds, 2),
    }
