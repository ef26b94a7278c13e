"""A reviewer's override of one check's answer, and the review version it makes.

The override replaces the effective answer (what the score counts) and keeps the
evaluator's own verdict beside it. It is a verified human answer, so it clears the
check's `needs_review`. The new version is scored and flagged by the one scoring
rule (`score_and_flag`) with the campaign's threshold; overrides already on the base
version carry forward, so the review version holds every override made so far.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from callscope_analysis.domain.model import (
    Analysis,
    AnswerType,
    CheckAnswer,
    CheckResult,
    Evaluation,
    Override,
)
from callscope_analysis.domain.scoring import ROLES_NEED_REVIEW, score_and_flag

REVIEW_EVALUATOR = "review"
MAX_COMMENT_CHARS = 2000


class OverrideRejectedError(ValueError):
    """An override the rules refuse; `code` is stable, `message` says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OverrideRequest:
    """What a reviewer asks: this check's answer is `answer`, because `comment`."""

    check_id: str
    answer: CheckAnswer | None
    comment: str
    reviewer: str


def overridden_results(
    base: Analysis, request: OverrideRequest, at: dt.datetime
) -> tuple[CheckResult, ...]:
    """The base version's results with the reviewer's answer on one check; raises
    OverrideRejectedError when the check, the answer, the comment or the reviewer is wrong."""
    comment = request.comment.strip()
    if not comment:
        raise OverrideRejectedError(
            "invalid_comment", "comment: say why the answer is overridden (it is required)"
        )
    if len(comment) > MAX_COMMENT_CHARS:
        raise OverrideRejectedError(
            "invalid_comment",
            f"comment: at most {MAX_COMMENT_CHARS} characters (it has {len(comment)})",
        )
    if not request.reviewer.strip():
        raise OverrideRejectedError("invalid_request", "the reviewer's user id is required")
    position = next(
        (i for i, result in enumerate(base.results) if result.check.id == request.check_id), None
    )
    if position is None:
        raise OverrideRejectedError(
            "unknown_check",
            f"check_id: analysis version {base.version} has no check {request.check_id!r}; "
            "use a check_id from the analysis's results",
        )
    result = base.results[position]
    answer = request.answer
    if answer is None:
        raise OverrideRejectedError("invalid_answer", "answer: send YES, NO or NOT_APPLICABLE")
    if answer is CheckAnswer.NOT_APPLICABLE and result.check.answer_type is AnswerType.YES_NO:
        raise OverrideRejectedError(
            "invalid_answer",
            f"answer: the check {result.check.name!r} is answered YES or NO; "
            "NOT_APPLICABLE is not one of its answers",
        )
    results = list(base.results)
    results[position] = override_result(result, answer, comment, request.reviewer.strip(), at)
    return tuple(results)


def override_result(
    result: CheckResult, answer: CheckAnswer, comment: str, reviewer: str, at: dt.datetime
) -> CheckResult:
    """The result with the reviewer's answer effective; the evaluator's verdict is kept (the
    original one, when an earlier override is replaced)."""
    earlier = result.override
    override = Override(
        answer=answer,
        comment=comment,
        reviewer=reviewer,
        at=at,
        ai_answer=earlier.ai_answer if earlier else result.answer,
        ai_passed=earlier.ai_passed if earlier else result.passed,
        ai_needs_review=earlier.ai_needs_review if earlier else result.needs_review,
    )
    return dataclasses.replace(
        result,
        answer=answer,
        passed=answer is CheckAnswer.YES,
        needs_review=False,
        override=override,
    )


def reviewed_evaluation(
    base: Analysis, results: tuple[CheckResult, ...], flag_threshold: float
) -> Evaluation:
    """The review version's score and flag, by the one scoring rule. Uncertain speaker roles
    are a fact of the base version's transcript, so that reason carries forward."""
    return score_and_flag(
        results,
        flag_threshold,
        roles_need_review=ROLES_NEED_REVIEW in base.flag_reasons,
    )
