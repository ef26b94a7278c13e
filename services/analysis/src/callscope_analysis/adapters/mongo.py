"""MongoDB storage of analyses: one document per version, never updated after it is written.

Each document keeps a full copy of the check definitions it was evaluated
with, so that editing or deleting a check later never changes an old result.
Two unique indexes keep the writes idempotent: (call_id, version) stops two
writers from taking the same version, and source_event_id stops a redelivered
event from adding a second version.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from callscope_common.versioned import VersionedCollection, VersionTakenError
from pymongo.asynchronous.database import AsyncDatabase

from callscope_analysis.domain.model import (
    Analysis,
    AnalysisSummary,
    AnswerType,
    Check,
    CheckAnswer,
    CheckResult,
    CheckWindow,
    ConversationStats,
    Evidence,
    NewAnalysis,
    Override,
    PartyTalk,
    Speaker,
    TokenUsage,
)
from callscope_analysis.ports import AnalysisVersionTakenError

Document = dict[str, Any]

COLLECTION = "analyses"

# Losing the race for a version number means another writer just stored one;
# a handful of retries is plenty for one call's events, which Kafka keeps in order.
_VERSION_ATTEMPTS = 5


class VersionConflictError(RuntimeError):
    """Concurrent writers kept taking the version this writer wanted."""


class MongoAnalysisStore:
    """Analysis versions in the `analyses` collection."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._versions = VersionedCollection(database[COLLECTION])

    async def ensure_indexes(self) -> None:
        """Creates the unique indexes the idempotent writes rely on."""
        await self._versions.ensure_indexes()

    async def find_by_source_event(self, source_event_id: str) -> Analysis | None:
        """The analysis an event already produced, if any."""
        document = await self._versions.find_by_source_event(source_event_id)
        return analysis_from_document(document) if document is not None else None

    async def add(self, analysis: NewAnalysis) -> tuple[Analysis, bool]:
        """Stores the call's next version, or returns the one its source event already stored."""
        for _ in range(_VERSION_ATTEMPTS):
            existing = await self.find_by_source_event(analysis.source_event_id)
            if existing is not None:
                return existing, False
            version = await self._versions.latest_version(analysis.call_id) + 1
            document = analysis_to_document(analysis, uuid.uuid4().hex, version)
            try:
                await self._versions.insert(document)
            except VersionTakenError:
                continue
            return analysis_from_document(document), True
        raise VersionConflictError(
            f"could not store an analysis of call {analysis.call_id}: "
            f"{_VERSION_ATTEMPTS} attempts lost the race for a version number"
        )

    async def add_version(self, analysis: NewAnalysis, version: int) -> Analysis:
        """Stores the analysis as exactly this version; the unique (call_id, version) index
        makes one of two concurrent writers of the same version fail."""
        document = analysis_to_document(analysis, uuid.uuid4().hex, version)
        try:
            await self._versions.insert(document)
        except VersionTakenError as error:
            raise AnalysisVersionTakenError(
                f"version {version} of call {analysis.call_id} is already stored"
            ) from error
        return analysis_from_document(document)

    async def get(self, org_id: str, call_id: str, version: int) -> Analysis | None:
        """An analysis version of a call in this organisation (0 = the latest)."""
        document = await self._versions.get(org_id, call_id, version)
        return analysis_from_document(document) if document is not None else None

    async def list_versions(self, org_id: str, call_id: str) -> list[AnalysisSummary]:
        """Every analysis version of a call in this organisation, newest first."""
        documents = await self._versions.list(org_id, call_id, projection=_SUMMARY_FIELDS)
        return [_summary_from_document(document) for document in documents]

    async def delete_call(self, org_id: str, call_id: str) -> int:
        """Removes every version of a call's analyses."""
        return await self._versions.delete_call(org_id, call_id)


def analysis_to_document(analysis: NewAnalysis, analysis_id: str, version: int) -> Document:
    """The stored form of a new analysis version."""
    evaluation = analysis.evaluation
    return {
        "_id": analysis_id,
        "call_id": analysis.call_id,
        "org_id": analysis.org_id,
        "campaign_id": analysis.campaign_id,
        "version": version,
        "transcript_version": analysis.transcript_version,
        "source_event_id": analysis.source_event_id,
        "evaluator": analysis.evaluator,
        "score": evaluation.score,
        "flagged": evaluation.flagged,
        "flag_reasons": list(evaluation.flag_reasons),
        "results": [_result_to_document(result) for result in evaluation.results],
        "created_at": analysis.created_at,
        "conversation": _conversation_to_document(analysis.conversation),
        "usage": _usage_to_document(analysis.usage),
        "reviewed_by": analysis.reviewed_by,
        "based_on_version": analysis.based_on_version,
    }


_SUMMARY_FIELDS: Document = {
    field: 1
    for field in ("version", "transcript_version", "evaluator", "score", "flagged", "created_at")
} | {"usage.model": 1}


def _summary_from_document(document: Document) -> AnalysisSummary:
    usage = document.get("usage") or {}
    return AnalysisSummary(
        version=int(document["version"]),
        transcript_version=int(document["transcript_version"]),
        evaluator=document["evaluator"],
        score=float(document["score"]),
        flagged=bool(document["flagged"]),
        created_at=_aware(document["created_at"]),
        model=usage.get("model", ""),
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _usage_to_document(usage: TokenUsage | None) -> Document | None:
    return None if usage is None else dataclasses.asdict(usage)


def _usage_from_document(document: Document | None) -> TokenUsage | None:
    if document is None:
        return None
    cost = document.get("cost_usd")
    return TokenUsage(
        model=document["model"],
        input_tokens=int(document.get("input_tokens", 0)),
        output_tokens=int(document.get("output_tokens", 0)),
        cache_creation_input_tokens=int(document.get("cache_creation_input_tokens", 0)),
        cache_read_input_tokens=int(document.get("cache_read_input_tokens", 0)),
        requests=int(document.get("requests", 0)),
        cost_usd=None if cost is None else float(cost),
        batched=bool(document.get("batched", False)),
    )


def _conversation_to_document(stats: ConversationStats | None) -> Document | None:
    if stats is None:
        return None
    return {
        "talk": [
            {
                "speaker": party.speaker.value,
                "seconds": party.seconds,
                "share": party.share,
                "words": party.words,
                "words_per_minute": party.words_per_minute,
            }
            for party in stats.talk
        ],
        "longest_silence_seconds": stats.longest_silence_seconds,
        "longest_silence_start": stats.longest_silence_start,
        "interruptions": stats.interruptions,
        "overlap_seconds": stats.overlap_seconds,
    }


def _conversation_from_document(document: Document | None) -> ConversationStats | None:
    if not document:
        return None
    return ConversationStats(
        talk=tuple(
            PartyTalk(
                speaker=Speaker(party["speaker"]),
                seconds=float(party["seconds"]),
                share=float(party["share"]),
                words=int(party["words"]),
                words_per_minute=float(party["words_per_minute"]),
            )
            for party in document.get("talk", [])
        ),
        longest_silence_seconds=float(document["longest_silence_seconds"]),
        longest_silence_start=float(document["longest_silence_start"]),
        interruptions=int(document["interruptions"]),
        overlap_seconds=float(document["overlap_seconds"]),
    )


def analysis_from_document(document: Document) -> Analysis:
    """The analysis a stored document holds."""
    created_at = _aware(document["created_at"])
    return Analysis(
        id=str(document["_id"]),
        call_id=document["call_id"],
        org_id=document["org_id"],
        campaign_id=document.get("campaign_id", ""),
        version=int(document["version"]),
        transcript_version=int(document["transcript_version"]),
        source_event_id=document["source_event_id"],
        evaluator=document["evaluator"],
        score=float(document["score"]),
        flagged=bool(document["flagged"]),
        flag_reasons=tuple(document.get("flag_reasons", [])),
        results=tuple(_result_from_document(result) for result in document.get("results", [])),
        created_at=created_at,
        conversation=_conversation_from_document(document.get("conversation")),
        usage=_usage_from_document(document.get("usage")),
        reviewed_by=document.get("reviewed_by", ""),
        based_on_version=int(document.get("based_on_version", 0)),
    )


def _result_to_document(result: CheckResult) -> Document:
    evidence = result.evidence
    return {
        "check": check_to_document(result.check),
        "answer": result.answer.value,
        "passed": result.passed,
        "confidence": result.confidence,
        "evidence": None
        if evidence is None
        else {
            "quote": evidence.quote,
            "speaker": evidence.speaker.value,
            "start": evidence.start,
            "end": evidence.end,
        },
        "reasoning": result.reasoning,
        "needs_review": result.needs_review,
        "review_reason": result.review_reason,
        "override": _override_to_document(result.override),
    }


def _override_to_document(override: Override | None) -> Document | None:
    if override is None:
        return None
    return {
        "answer": override.answer.value,
        "comment": override.comment,
        "reviewer": override.reviewer,
        "at": override.at,
        "ai_answer": override.ai_answer.value,
        "ai_passed": override.ai_passed,
        "ai_needs_review": override.ai_needs_review,
    }


def _override_from_document(document: Document | None) -> Override | None:
    if not document:
        return None
    return Override(
        answer=CheckAnswer(document["answer"]),
        comment=document["comment"],
        reviewer=document["reviewer"],
        at=_aware(document["at"]),
        ai_answer=CheckAnswer(document["ai_answer"]),
        ai_passed=bool(document["ai_passed"]),
        ai_needs_review=bool(document["ai_needs_review"]),
    )


def _result_from_document(document: Document) -> CheckResult:
    evidence = document.get("evidence")
    return CheckResult(
        check=check_from_document(document["check"]),
        answer=CheckAnswer(document["answer"]),
        passed=bool(document["passed"]),
        confidence=float(document["confidence"]),
        evidence=None
        if evidence is None
        else Evidence(
            quote=evidence["quote"],
            speaker=Speaker(evidence["speaker"]),
            start=float(evidence["start"]),
            end=float(evidence["end"]),
        ),
        reasoning=document.get("reasoning", ""),
        needs_review=bool(document.get("needs_review", False)),
        review_reason=document.get("review_reason", ""),
        override=_override_from_document(document.get("override")),
    )


def check_to_document(check: Check) -> Document:
    """The stored form of a check definition, complete (results and batch snapshots)."""
    return {
        "id": check.id,
        "name": check.name,
        "question": check.question,
        "category": check.category,
        "weight": check.weight,
        "critical": check.critical,
        "speaker": check.speaker.value,
        "phrases": list(check.phrases),
        "window": check.window.value,
        "answer_type": check.answer_type.value,
        "keywords": list(check.keywords),
        "applies_when": list(check.applies_when),
    }


def check_from_document(document: Document) -> Check:
    """The check definition a stored document holds."""
    return Check(
        id=document["id"],
        name=document["name"],
        question=document.get("question", ""),
        category=document.get("category", ""),
        weight=float(document["weight"]),
        critical=bool(document["critical"]),
        speaker=Speaker(document["speaker"]),
        phrases=tuple(document.get("phrases", [])),
        window=CheckWindow(document["window"]),
        answer_type=AnswerType(document.get("answer_type", AnswerType.YES_NO.value)),
        keywords=tuple(document.get("keywords", [])),
        applies_when=tuple(document.get("applies_when", [])),
    )
