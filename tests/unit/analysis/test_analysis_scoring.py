"""Scoring and flagging: weighted score, threshold, critical checks, checks that were not judged."""

from __future__ import annotations

import pytest
from callscope_analysis.domain.model import Check, CheckAnswer, CheckResult
from callscope_analysis.domain.scoring import flag_reasons, score_and_flag, weighted_score

pytestmark = pytest.mark.unit


def result(
    name: str, answer: CheckAnswer, *, weight: float = 1.0, critical: bool = False
) -> CheckResult:
    """A check result with the given answer."""
    return CheckResult(
        check=Check(id=name.lower(), name=name, weight=weight, critical=critical),
        answer=answer,
        passed=answer is CheckAnswer.YES,
        confidence=0.9,
        evidence=None,
        reasoning="",
    )


YES, NO, NA = CheckAnswer.YES, CheckAnswer.NO, CheckAnswer.NOT_APPLICABLE


def test_score_is_the_weighted_share_of_passed_checks() -> None:
    results = [
        result("Greeting", YES, weight=15),
        result("Identity verification", YES, weight=30),
        result("Empathy", NO, weight=20),
        result("Further help", YES, weight=15),
        result("Closing", NO, weight=20),
    ]
    assert weighted_score(results) == 60.0


def test_score_is_rounded_to_one_decimal() -> None:
    assert weighted_score([result("A", YES), result("B", NO), result("C", NO)]) == 33.3
    assert weighted_score([result("A", YES), result("B", YES), result("C", NO)]) == 66.7


def test_not_applicable_checks_are_left_out_of_the_score() -> None:
    assert weighted_score([result("A", YES, weight=2), result("B", NA, weight=8)]) == 100.0


def test_all_passed_and_all_failed() -> None:
    assert weighted_score([result("A", YES), result("B", YES)]) == 100.0
    assert weighted_score([result("A", NO), result("B", NO)]) == 0.0


def test_a_score_below_the_threshold_flags_the_call() -> None:
    evaluation = score_and_flag(
        [result("A", YES, weight=60), result("B", NO, weight=40)], flag_threshold=70.0
    )
    assert evaluation.score == 60.0
    assert evaluation.flagged
    assert evaluation.flag_reasons == ("score 60.0 is below the threshold 70",)


def test_a_score_at_the_threshold_is_not_flagged() -> None:
    evaluation = score_and_flag(
        [result("A", YES, weight=70), result("B", NO, weight=30)], flag_threshold=70.0
    )
    assert evaluation.score == 70.0
    assert not evaluation.flagged
    assert evaluation.flag_reasons == ()


def test_a_fractional_threshold_is_written_as_set() -> None:
    reasons = flag_reasons(50.0, 72.5, [result("A", YES), result("B", NO)])
    assert reasons == ("score 50.0 is below the threshold 72.5",)


def test_a_failed_critical_check_flags_the_call_whatever_its_score() -> None:
    evaluation = score_and_flag(
        [
            result("Greeting", YES, weight=70),
            result("Identity verification", NO, weight=30, critical=True),
        ],
        flag_threshold=70.0,
    )
    assert evaluation.score == 70.0
    assert evaluation.flagged
    assert evaluation.flag_reasons == ("critical check failed: Identity verification",)


def test_low_score_and_critical_failures_are_all_reported() -> None:
    evaluation = score_and_flag(
        [
            result("Greeting", NO, weight=50),
            result("Identity verification", NO, critical=True),
            result("Disclosure", NO, critical=True),
            result("Closing", YES),
        ],
        flag_threshold=70.0,
    )
    assert evaluation.flag_reasons == (
        "score 1.9 is below the threshold 70",
        "critical check failed: Identity verification",
        "critical check failed: Disclosure",
    )


def test_a_critical_check_that_was_not_judged_does_not_flag() -> None:
    evaluation = score_and_flag(
        [result("A", YES), result("Critical", NA, critical=True)], flag_threshold=70.0
    )
    assert not evaluation.flagged


def test_a_call_with_nothing_judged_is_flagged_with_a_reason() -> None:
    evaluation = score_and_flag([result("A", NA), result("B", NA)], flag_threshold=70.0)
    assert evaluation.score == 0.0
    assert evaluation.flagged
    assert evaluation.flag_reasons == ("none of the campaign's checks could be evaluated",)


def test_checks_without_weight_score_zero_with_a_reason() -> None:
    evaluation = score_and_flag(
        [result("A", YES, weight=0), result("B", NO, weight=0)], flag_threshold=70.0
    )
    assert evaluation.score == 0.0
    assert evaluation.flag_reasons == ("the checks that could be evaluated all have weight 0",)


def test_negative_weights_count_as_zero() -> None:
    assert weighted_score([result("A", YES, weight=1), result("B", NO, weight=-5)]) == 100.0


def test_a_threshold_of_zero_never_flags_on_score() -> None:
    evaluation = score_and_flag([result("A", NO)], flag_threshold=0.0)
    assert evaluation.score == 0.0
    assert not evaluation.flagged


def test_uncertain_speaker_roles_flag_a_call_that_scores_well() -> None:
    results = [result("A", YES), result("B", YES)]

    doubtful = score_and_flag(results, flag_threshold=70.0, roles_need_review=True)
    certain = score_and_flag(results, flag_threshold=70.0)

    assert (doubtful.score, doubtful.flagged) == (100.0, True)
    assert doubtful.flag_reasons == (
        "agent and customer may be swapped: confirm the speakers or swap them",
    )
    assert not certain.flagged


def test_the_worked_example_in_docs_scoring_md() -> None:
    cut_off = [
        result("Greeting", YES, weight=15),
        result("Identity verification", YES, weight=30, critical=True),
        result("Empathy", NO, weight=20),
        result("Offer of further help", NA, weight=15),
        result("Proper closing", NO, weight=20),
    ]
    no_verification = [
        result("Greeting", YES, weight=15),
        result("Identity verification", NO, weight=30, critical=True),
        result("Empathy", YES, weight=20),
        result("Offer of further help", NA, weight=15),
        result("Proper closing", YES, weight=20),
    ]

    example = score_and_flag(cut_off, flag_threshold=70)
    variant = score_and_flag(no_verification, flag_threshold=70)
    lower_threshold = score_and_flag(no_verification, flag_threshold=60)

    assert (example.score, example.flag_reasons) == (
        52.9,
        ("score 52.9 is below the threshold 70",),
    )
    assert variant.score == 64.7
    assert variant.flag_reasons == (
        "score 64.7 is below the threshold 70",
        "critical check failed: Identity verification",
    )
    assert lower_threshold.flag_reasons == ("critical check failed: Identity verification",)
