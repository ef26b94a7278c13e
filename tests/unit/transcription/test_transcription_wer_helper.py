"""The word-error-rate helper that the transcription measurements rely on."""

from __future__ import annotations

import pytest

from tests.support.wer import WerResult, normalise, wer, word_edit_distance, word_errors

pytestmark = pytest.mark.unit


def test_identical_texts_have_no_errors() -> None:
    assert wer("Thank you for calling.", "thank you for calling") == 0.0


def test_case_punctuation_apostrophes_and_hyphens_are_ignored() -> None:
    assert normalise("Hello, I'm Sarah-Jane!  How's it going?") == [
        "hello",
        "im",
        "sarah",
        "jane",
        "hows",
        "it",
        "going",
    ]


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("four seven two nine one eight", "472918"),
        ("four seven two nine one eight", "4729 18"),
        ("twenty four", "24"),
        ("one hundred and five", "105"),
        ("two thousand three hundred", "2,300"),
        ("ten pounds", "£10"),
        ("twenty dollars", "$20"),
        ("the fourth of May", "the 4th of May"),
        ("twenty first", "21st"),
        ("six o'clock", "6 o'clock"),
        ("fifty percent", "50%"),
        ("okay", "OK"),
    ],
)
def test_numbers_in_words_and_digits_compare_equal(spoken: str, written: str) -> None:
    assert normalise(spoken) == normalise(written)


def test_number_words_split_where_grammar_starts_a_new_number() -> None:
    assert normalise("twenty twenty four") == ["2", "0", "2", "4"]
    assert normalise("nine thirty") == ["9", "3", "0"]


def test_scale_words_alone_stay_words() -> None:
    assert normalise("a hundred thousand reasons") == ["a", "hundred", "thousand", "reasons"]


def test_edit_distance_counts_substitutions_insertions_and_deletions() -> None:
    assert word_edit_distance(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert word_edit_distance(["a", "b", "c"], ["a", "c"]) == 1
    assert word_edit_distance(["a", "b"], ["a", "b", "c", "d"]) == 2
    assert word_edit_distance([], ["a"]) == 1
    assert word_edit_distance(["a"], []) == 1


def test_rate_is_errors_over_reference_words() -> None:
    result = word_errors("my name is Daniel", "my name Daniels")
    assert result == WerResult(errors=2, reference_words=4)
    assert result.rate == 0.5


def test_results_pool_by_word_count() -> None:
    pooled = WerResult(1, 10) + WerResult(3, 30)
    assert pooled.rate == pytest.approx(4 / 40)


def test_empty_reference() -> None:
    assert wer("", "") == 0.0
    assert wer("", "hello") == float("inf")
