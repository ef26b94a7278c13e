"""The offline evaluator's keyword and applicability hints."""

from __future__ import annotations

import pytest
from callscope_analysis.domain.evaluator import PhraseEvaluator
from callscope_analysis.domain.model import (
    AnswerType,
    Campaign,
    Check,
    CheckAnswer,
    Segment,
    Speaker,
    Transcript,
)

pytestmark = pytest.mark.unit

EVALUATOR = PhraseEvaluator()


def transcript(*lines: tuple[Speaker, str]) -> Transcript:
    segments = tuple(
        Segment(speaker, index * 5.0, index * 5.0 + 4.0, text)
        for index, (speaker, text) in enumerate(lines)
    )
    return Transcript("t", "call", "org", 1, len(lines) * 5.0, segments)


RECORDING = Check(
    id="recording",
    name="Recording notice",
    speaker=Speaker.AGENT,
    keywords=("call", "recorded"),
)

APOLOGY = Check(
    id="apology",
    name="Apology for a complaint",
    speaker=Speaker.AGENT,
    phrases=("sorry about that",),
    answer_type=AnswerType.YES_NO_NOT_APPLICABLE,
    applies_when=("i want to complain", "this is unacceptable"),
)


def test_keywords_in_any_order_in_one_turn_of_the_speaker_pass() -> None:
    call = transcript(
        (Speaker.AGENT, "Before we start, this call is being recorded for training."),
        (Speaker.CUSTOMER, "Fine."),
    )
    result = EVALUATOR.evaluate_check(call, RECORDING)
    assert (result.answer, result.passed) == (CheckAnswer.YES, True)
    assert result.evidence is not None and result.evidence.start == 0.0
    assert result.reasoning == "the agent said 'call', 'recorded' together at 00:00"


def test_a_long_keyword_survives_a_recognisers_slip_but_a_missing_one_fails() -> None:
    slipped = transcript((Speaker.AGENT, "Just so you know, the call is being recordid."))
    half = transcript((Speaker.AGENT, "This call may be monitored."))
    assert EVALUATOR.evaluate_check(slipped, RECORDING).passed
    missing = EVALUATOR.evaluate_check(half, RECORDING)
    assert missing.answer is CheckAnswer.NO
    assert "not all of 'call', 'recorded'" in missing.reasoning


def test_keywords_split_between_parties_or_turns_far_apart_do_not_pass() -> None:
    call = transcript(
        (Speaker.AGENT, "Thanks for your call."),
        (Speaker.CUSTOMER, "Is this recorded?"),
        (Speaker.AGENT, "How can I help?"),
        (Speaker.AGENT, "Let me look."),
        (Speaker.AGENT, "Everything is recorded here."),
    )
    assert EVALUATOR.evaluate_check(call, RECORDING).answer is CheckAnswer.NO


def test_a_check_that_may_not_apply_is_not_applicable_when_its_situation_never_arises() -> None:
    calm = transcript(
        (Speaker.AGENT, "How can I help?"), (Speaker.CUSTOMER, "Just updating my address.")
    )
    result = EVALUATOR.evaluate_check(calm, APOLOGY)
    assert result.answer is CheckAnswer.NOT_APPLICABLE
    assert result.reasoning == (
        "not applicable: nobody said anything like 'i want to complain' or 'this is unacceptable'"
    )


def test_a_check_that_applies_is_answered_yes_or_no() -> None:
    answered = transcript(
        (Speaker.CUSTOMER, "Honestly, this is unacceptable."),
        (Speaker.AGENT, "I'm sorry about that, let me fix it."),
    )
    ignored = transcript(
        (Speaker.CUSTOMER, "I want to complain about the engineer."),
        (Speaker.AGENT, "Okay. What is your account number?"),
    )
    assert EVALUATOR.evaluate_check(answered, APOLOGY).answer is CheckAnswer.YES
    assert EVALUATOR.evaluate_check(ignored, APOLOGY).answer is CheckAnswer.NO


def test_applies_when_is_ignored_on_a_check_that_must_be_answered() -> None:
    must = Check(
        id="apology",
        name="Apology",
        speaker=Speaker.AGENT,
        phrases=("sorry about that",),
        applies_when=("i want to complain",),
    )
    calm = transcript((Speaker.AGENT, "How can I help?"))
    assert EVALUATOR.evaluate_check(calm, must).answer is CheckAnswer.NO


async def test_assess_answers_the_campaigns_checks_at_no_cost() -> None:
    campaign = Campaign("c", "Demo", 70.0, (RECORDING, APOLOGY))
    call = transcript((Speaker.AGENT, "This call is recorded."))
    outcome = await EVALUATOR.assess(call, campaign)
    assert outcome.evaluator == "local" and outcome.usage is None
    assert [result.answer for result in outcome.results] == [
        CheckAnswer.YES,
        CheckAnswer.NOT_APPLICABLE,
    ]
