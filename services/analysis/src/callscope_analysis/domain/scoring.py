"""Scoring and flagging: one weighted score per call, and the reasons a reviewer should look."""

from __future__ import annotations

from collections.abc import Sequence

from callscope_analysis.domain.model import CheckAnswer, CheckResult, Evaluation


def _applicable(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The results that count: answered yes or no, or unverified (which count as not passed)."""
    return [
        result
        for result in results
        if result.answer is not CheckAnswer.NOT_APPLICABLE or result.needs_review
    ]


def weighted_score(results: Sequence[CheckResult]) -> float:
    """100 x passed weight / applicable weight, to one decimal; 0 when nothing weighs anything.

    A result that needs review counts as applicable and not passed: an answer nobody
    could verify never raises a score.
    """
    applicable = _applicable(results)
    total = sum(max(result.check.weight, 0.0) for result in applicable)
    if total <= 0:
        return 0.0
    passed = sum(
        max(result.check.weight, 0.0)
        for result in applicable
        if result.passed and not result.needs_review
    )
    return round(100.0 * passed / total, 1)


def flag_reasons(score: float, threshold: float, results: Sequence[CheckResult]) -> tuple[str, ...]:
    """Why the call needs a review, for people; empty when it does not."""
    reasons: list[str] = []
    applicable = _applicable(results)
    if not applicable:
        reasons.append("none of the campaign's checks could be evaluated")
    elif sum(max(result.check.weight, 0.0) for result in applicable) <= 0:
        reasons.append("the checks that could be evaluated all have weight 0")
    elif score < threshold:
        reasons.append(f"score {score:.1f} is below the threshold {threshold:g}")
    reasons.extend(
        f"critical check failed: {result.check.name}"
        for result in results
        if result.check.critical and result.answer is CheckAnswer.NO
    )
    reasons.extend(
        f"check needs review: {result.check.name} ({result.review_reason})"
        for result in results
        if result.needs_review
    )
    return tuple(reasons)


ROLES_NEED_REVIEW = "agent and customer may be swapped: confirm the speakers or swap them"


def score_and_flag(
    results: Sequence[CheckResult], flag_threshold: float, *, roles_need_review: bool = False
) -> Evaluation:
    """The evaluation of a call: its results, score, and whether and why it is flagged.

    Checks are answered per party, so a transcript whose speaker roles are uncertain is
    flagged too: its answers may belong to the other party.
    """
    score = weighted_score(results)
    reasons = flag_reasons(score, flag_threshold, results)
    if roles_need_review:
        reasons = (*reasons, ROLES_NEED_REVIEW)
    return Evaluation(
        results=tuple(results), score=score, flagged=bool(reasons), flag_reasons=reasons
    )
