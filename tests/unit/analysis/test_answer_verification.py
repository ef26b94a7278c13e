"""An LLM's answers checked against the transcript: quotes found or refused, review marks,
the score they leave, token prices and the diff between versions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from callscope_analysis.domain.answers import ModelAnswer, verified_result
from callscope_analysis.domain.diff import compare
from callscope_analysis.domain.evidence import locate_quote
from callscope_analysis.domain.model import (
    Analysis,
    AnswerType,
    Check,
    CheckAnswer,
    CheckResult,
    Segment,
    Speaker,
    Transcript,
)
from callscope_analysis.domain.pricing import cost_usd, price_of
from callscope_analysis.domain.scoring import score_and_flag

pytestmark = pytest.mark.unit

TRANSCRIPT = Transcript(
    id="t-1",
    call_id="call-1",
    org_id="org-1",
    version=1,
    duration_seconds=40.0,
    segments=(
        Segment(Speaker.AGENT, 0.0, 4.0, "Thank you for calling Northwind, this is Dan."),
        Segment(Speaker.CUSTOMER, 4.5, 9.0, "Hi Dan, my bill is twice what it should be!"),
        Segment(Speaker.AGENT, 9.5, 14.0, "I'm so sorry to hear that."),
        Segment(Speaker.AGENT, 14.0, 19.0, "Can you confirm your date of birth, please?"),
        Segment(Speaker.CUSTOMER, 19.5, 22.0, "It's the 4th of May, and I have 2 accounts."),
        Segment(Speaker.AGENT, 30.0, 36.0, "Thanks for your time, have a nice day."),
    ),
)

GREETING = Check(id="greeting", name="Greeting", weight=15.0, speaker=Speaker.AGENT)
VERIFY = Check(
    id="verify", name="Identity verification", weight=30.0, critical=True, speaker=Speaker.AGENT
)
REFUND = Check(
    id="refund",
    name="Refund explained",
    weight=10.0,
    speaker=Speaker.AGENT,
    answer_type=AnswerType.YES_NO_NOT_APPLICABLE,
)


def answer(check: Check, value: CheckAnswer, quote: str = "") -> ModelAnswer:
    return ModelAnswer(check.id, value, 0.9, quote, "because")


# --- finding quotes --------------------------------------------------------------------------


def test_a_quote_differing_only_in_case_punctuation_and_contractions_is_found() -> None:
    evidence = locate_quote(TRANSCRIPT, "i am so sorry to hear that")
    assert evidence is not None
    assert (evidence.speaker, evidence.start, evidence.end) == (Speaker.AGENT, 9.5, 14.0)


def test_a_quote_with_digits_spoken_as_words_is_found() -> None:
    assert locate_quote(TRANSCRIPT, "and I have two accounts") is not None


def test_a_quote_spanning_two_turns_or_shortened_with_an_ellipsis_is_found() -> None:
    across = locate_quote(TRANSCRIPT, "sorry to hear that. Can you confirm your date of birth")
    shortened = locate_quote(TRANSCRIPT, "Can you confirm ... have a nice day")
    assert across is not None and (across.start, across.end) == (9.5, 19.0)
    assert shortened is not None and (shortened.start, shortened.end) == (14.0, 36.0)


@pytest.mark.parametrize(
    "quote",
    [
        "Could you verify your security answer?",  # invented
        "Can you confirm your postcode, please?",  # one word changed
        "Thank you for calling Contoso",  # the wrong company
        "",
        "...",
    ],
)
def test_an_invented_or_altered_quote_is_not_found(quote: str) -> None:
    assert locate_quote(TRANSCRIPT, quote) is None


# --- verifying answers -----------------------------------------------------------------------


def test_a_yes_with_a_real_quote_passes_with_the_transcripts_own_speaker_and_times() -> None:
    result = verified_result(
        VERIFY, answer(VERIFY, CheckAnswer.YES, "confirm your date of birth"), TRANSCRIPT
    )
    assert (result.passed, result.needs_review) == (True, False)
    assert result.evidence is not None and result.evidence.start == 14.0


def test_a_yes_with_a_hallucinated_quote_is_marked_for_review_and_not_passed() -> None:
    result = verified_result(
        VERIFY, answer(VERIFY, CheckAnswer.YES, "Can you tell me your memorable word?"), TRANSCRIPT
    )
    assert (result.answer, result.passed, result.needs_review) == (CheckAnswer.YES, False, True)
    assert result.review_reason == "the quoted evidence is not in the transcript"
    assert result.evidence is None


def test_a_yes_without_a_quote_is_marked_for_review() -> None:
    result = verified_result(GREETING, answer(GREETING, CheckAnswer.YES), TRANSCRIPT)
    assert (result.passed, result.needs_review) == (False, True)
    assert "without quoting" in result.review_reason


def test_a_yes_quoting_the_other_party_is_marked_for_review() -> None:
    result = verified_result(
        VERIFY, answer(VERIFY, CheckAnswer.YES, "my bill is twice what it should be"), TRANSCRIPT
    )
    assert result.needs_review and not result.passed
    assert result.review_reason == (
        "the quote was said by the customer, but the check concerns the agent"
    )


def test_a_no_needs_no_quote_but_a_quoted_no_must_be_real() -> None:
    plain = verified_result(VERIFY, answer(VERIFY, CheckAnswer.NO), TRANSCRIPT)
    invented = verified_result(VERIFY, answer(VERIFY, CheckAnswer.NO, "no I won't"), TRANSCRIPT)
    assert (plain.passed, plain.needs_review) == (False, False)
    assert invented.needs_review


def test_not_applicable_is_an_answer_only_where_the_check_allows_it() -> None:
    allowed = verified_result(REFUND, answer(REFUND, CheckAnswer.NOT_APPLICABLE), TRANSCRIPT)
    refused = verified_result(GREETING, answer(GREETING, CheckAnswer.NOT_APPLICABLE), TRANSCRIPT)
    assert (allowed.needs_review, refused.needs_review) == (False, True)
    assert "answered yes or no" in refused.review_reason


def test_confidence_outside_zero_to_one_is_clamped() -> None:
    wild = dataclasses.replace(answer(VERIFY, CheckAnswer.NO), confidence=7.0)
    assert verified_result(VERIFY, wild, TRANSCRIPT).confidence == 1.0


# --- scoring with review marks ---------------------------------------------------------------


def result(check: Check, value: CheckAnswer, *, passed: bool, review: str = "") -> CheckResult:
    return CheckResult(check, value, passed, 0.9, None, "", bool(review), review)


def test_an_answer_needing_review_counts_as_applicable_and_failed_and_flags_the_call() -> None:
    evaluation = score_and_flag(
        [
            result(GREETING, CheckAnswer.YES, passed=True),
            result(VERIFY, CheckAnswer.YES, passed=False, review="the quoted evidence is gone"),
        ],
        flag_threshold=10.0,
    )
    assert evaluation.score == 33.3  # 15 of 45
    assert evaluation.flagged
    assert evaluation.flag_reasons == (
        "check needs review: Identity verification (the quoted evidence is gone)",
    )


def test_a_not_applicable_answer_needing_review_still_counts() -> None:
    evaluation = score_and_flag(
        [
            result(GREETING, CheckAnswer.YES, passed=True),
            result(VERIFY, CheckAnswer.NOT_APPLICABLE, passed=False, review="must be yes or no"),
        ],
        flag_threshold=0.0,
    )
    assert evaluation.score == 33.3


# --- prices ----------------------------------------------------------------------------------


def test_cost_counts_cache_writes_reads_and_the_batch_discount() -> None:
    def cost(model: str, *, batched: bool = False) -> float | None:
        return cost_usd(
            model,
            input_tokens=1_000_000,
            output_tokens=100_000,
            cache_creation_input_tokens=1_000_000,
            cache_read_input_tokens=10_000_000,
            batched=batched,
        )

    # $3 input + $1.50 output + $3.75 cache write + $3 cache read
    assert cost("claude-sonnet-4-6") == pytest.approx(11.25)
    assert cost("claude-sonnet-4-5-20250929", batched=True) == pytest.approx(5.625)


def test_a_model_without_a_known_price_has_no_cost_rather_than_a_guess() -> None:
    assert price_of("claude-opus-4-9") is None
    assert (
        cost_usd(
            "claude-opus-4-9",
            input_tokens=5,
            output_tokens=5,
            cache_creation_input_tokens=0,
            cache_read_input_tokens=0,
        )
        is None
    )


# --- diff between versions -------------------------------------------------------------------


def analysis(version: int, *results: CheckResult) -> Analysis:
    return Analysis(
        id=f"a-{version}",
        call_id="call-1",
        org_id="org-1",
        campaign_id="c-1",
        version=version,
        transcript_version=1,
        source_event_id=f"e-{version}",
        evaluator="local",
        score=0.0,
        flagged=False,
        flag_reasons=(),
        results=results,
        created_at=dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
    )


def test_the_diff_lists_changed_added_removed_and_redefined_checks_only() -> None:
    reworded = dataclasses.replace(GREETING, question="Did the agent name the company?")
    before = analysis(
        1,
        result(GREETING, CheckAnswer.YES, passed=True),
        result(VERIFY, CheckAnswer.NO, passed=False),
        result(REFUND, CheckAnswer.NOT_APPLICABLE, passed=False),
    )
    after = analysis(
        2,
        result(reworded, CheckAnswer.YES, passed=True),
        result(VERIFY, CheckAnswer.YES, passed=True),
        result(Check(id="new", name="New"), CheckAnswer.NO, passed=False),
    )

    diff = compare(before, after)

    kinds = {
        change.check_id: (
            change.before is None,
            change.after is None,
            change.answer_changed,
            change.definition_changed,
        )
        for change in diff.changes
    }
    assert kinds == {
        "greeting": (False, False, False, True),
        "verify": (False, False, True, False),
        "new": (True, False, True, False),
        "refund": (False, True, True, False),
    }
    assert diff.unchanged == 0
    assert (diff.before.version, diff.after.version) == (1, 2)


def test_identical_versions_have_no_changes() -> None:
    same = (result(GREETING, CheckAnswer.YES, passed=True),)
    diff = compare(analysis(1, *same), analysis(2, *same))
    assert diff.changes == () and diff.unchanged == 1
