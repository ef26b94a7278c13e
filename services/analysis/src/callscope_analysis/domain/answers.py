"""Turning a language model's answers into check results a reviewer can trust.

The model's answer stands only when it can be verified: a YES needs a quote, every
quote must be found in the transcript (`locate_quote`), a quote for a party's
check must come from that party, and NOT_APPLICABLE is only an answer to a check
that allows it. An answer that fails any of these is kept for the reviewer to
see, marked `needs_review`, and never counts as passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from callscope_analysis.domain.evidence import locate_quote
from callscope_analysis.domain.model import (
    AnswerType,
    Check,
    CheckAnswer,
    CheckResult,
    Speaker,
    Transcript,
)

_PARTIES = (Speaker.AGENT, Speaker.CUSTOMER)


@dataclass(frozen=True)
class ModelAnswer:
    """One check's answer as the model gave it, before verification."""

    check_id: str
    answer: CheckAnswer
    confidence: float
    evidence_quote: str
    reasoning: str


def verified_result(check: Check, answer: ModelAnswer, transcript: Transcript) -> CheckResult:
    """The check's result: the answer with the transcript's evidence, or marked for review."""
    problems: list[str] = []
    if answer.answer is CheckAnswer.NOT_APPLICABLE and check.answer_type is AnswerType.YES_NO:
        problems.append("answered not applicable, but this check is answered yes or no")
    quote = answer.evidence_quote.strip()
    evidence = locate_quote(transcript, quote) if quote else None
    if quote and evidence is None:
        problems.append("the quoted evidence is not in the transcript")
    elif not quote and answer.answer is CheckAnswer.YES:
        problems.append("a yes was given without quoting the transcript")
    if (
        evidence is not None
        and answer.answer is CheckAnswer.YES
        and check.speaker in _PARTIES
        and evidence.speaker in _PARTIES
        and evidence.speaker is not check.speaker
    ):
        problems.append(
            f"the quote was said by the {evidence.speaker.value.lower()}, "
            f"but the check concerns the {check.speaker.value.lower()}"
        )
    return CheckResult(
        check=check,
        answer=answer.answer,
        passed=answer.answer is CheckAnswer.YES and not problems,
        confidence=round(min(max(answer.confidence, 0.0), 1.0), 2),
        evidence=evidence,
        reasoning=answer.reasoning.strip(),
        needs_review=bool(problems),
        review_reason="; ".join(problems),
    )
