"""The diarization error rate that bench/diarization.py and the voice-splitting tests report."""

from __future__ import annotations

import pytest

from tests.support.der import DiarizationError, LabelledSpan, diarization_error

pytestmark = pytest.mark.unit

REFERENCE = (
    LabelledSpan("AGENT", 0.0, 4.0),
    LabelledSpan("CUSTOMER", 5.0, 8.0),
    LabelledSpan("AGENT", 9.0, 12.0),
)


def test_the_same_turns_under_other_names_score_zero() -> None:
    hypothesis = [
        LabelledSpan("1", 0.0, 4.0),
        LabelledSpan("0", 5.0, 8.0),
        LabelledSpan("1", 9, 12),
    ]

    result = diarization_error(REFERENCE, hypothesis, collar=0.0)

    assert result.rate == 0.0
    assert result.scored_speech == pytest.approx(10.0)
    assert result.mapping == {"1": "AGENT", "0": "CUSTOMER"}


def test_missed_speech_false_alarm_and_confusion_are_told_apart() -> None:
    hypothesis = [
        LabelledSpan("a", 0.0, 3.0),  # 1 s of the agent's first turn missed
        LabelledSpan("b", 5.0, 7.0),  # the customer right for 2 s ...
        LabelledSpan("a", 7.0, 8.0),  # ... then 1 s given to the agent
        LabelledSpan("a", 8.0, 8.5),  # 0.5 s of speech in the pause
        LabelledSpan("a", 9.0, 12.0),
    ]

    result = diarization_error(REFERENCE, hypothesis, collar=0.0)

    assert result.missed == pytest.approx(1.0)
    assert result.false_alarm == pytest.approx(0.5)
    assert result.confusion == pytest.approx(1.0)
    assert result.missed_rate == pytest.approx(0.1)
    assert result.false_alarm_rate == pytest.approx(0.05)
    assert result.confusion_rate == pytest.approx(0.1)
    assert result.rate == pytest.approx(0.25)


def test_the_collar_forgives_boundaries_off_by_less_than_it() -> None:
    hypothesis = [
        LabelledSpan("x", 0.2, 4.2),
        LabelledSpan("y", 4.8, 7.9),
        LabelledSpan("x", 9.1, 12.0),
    ]

    assert diarization_error(REFERENCE, hypothesis, collar=0.25).rate == 0.0
    without = diarization_error(REFERENCE, hypothesis, collar=0.0)
    assert without.missed == pytest.approx(0.2 + 0.1 + 0.1)
    assert without.false_alarm == pytest.approx(0.2 + 0.2)


def test_the_collar_is_left_out_of_the_scored_speech() -> None:
    result = diarization_error(REFERENCE, [], collar=0.25)

    # Every reference boundary takes 0.25 s off the speech it bounds.
    assert result.scored_speech == pytest.approx(10.0 - 6 * 0.25)
    assert result.missed_rate == 1.0
    assert result.rate == 1.0


def test_one_hypothesis_voice_for_both_parties_confuses_the_smaller_one() -> None:
    hypothesis = [LabelledSpan("0", 0.0, 12.0)]

    result = diarization_error(REFERENCE, hypothesis, collar=0.0)

    assert result.mapping == {"0": "AGENT"}
    assert result.confusion == pytest.approx(3.0)
    assert result.false_alarm == pytest.approx(2.0)  # the two pauses


def test_a_third_hypothesis_voice_cannot_be_mapped_and_counts_as_confusion() -> None:
    hypothesis = [
        LabelledSpan("0", 0.0, 4.0),
        LabelledSpan("1", 5.0, 8.0),
        LabelledSpan("2", 9.0, 12.0),
    ]

    result = diarization_error(REFERENCE, hypothesis, collar=0.0)

    assert result.confusion == pytest.approx(3.0)
    assert result.rate == pytest.approx(0.3)


def test_overlapping_reference_speech_counts_each_speaker() -> None:
    reference = [LabelledSpan("A", 0.0, 4.0), LabelledSpan("B", 2.0, 6.0)]
    hypothesis = [LabelledSpan("0", 0.0, 4.0), LabelledSpan("1", 4.0, 6.0)]

    result = diarization_error(reference, hypothesis, collar=0.0)

    # 8 speaker-seconds; while both talk (2-4 s) one voice was heard: 2 s missed.
    assert result.scored_speech == pytest.approx(8.0)
    assert result.missed == pytest.approx(2.0)
    assert result.confusion == 0.0


def test_results_pool_by_seconds() -> None:
    short = DiarizationError(scored_speech=10.0, missed=1.0, false_alarm=0.0, confusion=0.0)
    long = DiarizationError(scored_speech=90.0, missed=0.0, false_alarm=0.0, confusion=9.0)

    pooled = short + long

    assert pooled.rate == pytest.approx(0.1)
    assert pooled.missed_rate == pytest.approx(0.01)
    assert pooled.confusion_rate == pytest.approx(0.09)


def test_nothing_to_score_is_no_error() -> None:
    assert diarization_error([], [], collar=0.25).rate == 0.0
