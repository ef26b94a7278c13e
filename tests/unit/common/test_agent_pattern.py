"""The agent file-name pattern: where a campaign's SFTP file names carry the agent code."""

from __future__ import annotations

import pytest
from callscope_common.agent_pattern import (
    MAX_PATTERN_LENGTH,
    AgentPattern,
    AgentPatternError,
    agent_code_by_pattern,
    parse_agent_pattern,
)


@pytest.mark.parametrize(
    ("pattern", "name", "code"),
    [
        ("*_{agent}_*.wav", "call_JS001_20260115.wav", "JS001"),
        ("{agent}-*", "JS001-morning.mp3", "JS001"),
        ("rec_*_{agent}.*", "rec_20260115_AB12.m4a", "AB12"),
    ],
)
def test_the_docstring_examples(pattern: str, name: str, code: str) -> None:
    assert agent_code_by_pattern(pattern, name) == code


def test_a_parsed_pattern_keeps_the_text_around_the_placeholder_in_lower_case() -> None:
    assert parse_agent_pattern("REC_*_{agent}.WAV") == AgentPattern("rec_*_", ".wav")


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("CALL_{agent}_*.WAV", "call_JS001_x.wav"),
        ("call_{agent}_*.wav", "CALL_JS001_X.WAV"),
        ("Call_{agent}_*.Wav", "cAlL_JS001_x.wAv"),
    ],
)
def test_matching_ignores_case_and_keeps_the_codes_own_case(pattern: str, name: str) -> None:
    assert agent_code_by_pattern(pattern, name) == "JS001"


def test_the_code_keeps_its_case_as_written_in_the_name() -> None:
    assert agent_code_by_pattern("{agent}.wav", "js001.wav") == "js001"


@pytest.mark.parametrize(
    ("pattern", "name", "code"),
    [
        # Leftmost: the first place the text before {agent} fits.
        ("*_{agent}_*", "a_B_C_d", "B"),
        ("*_{agent}*", "x_AB_CD", "A"),
        # Then shortest: the least that lets the rest of the name fit.
        ("{agent}-*", "JS001-morning-shift.mp3", "JS001"),
        ("{agent}*", "JS001.wav", "J"),
        ("*{agent}.wav", "JS001.wav", "JS001"),
        ("*_{agent}.wav", "a_b_JS001.wav", "b_JS001"),
    ],
)
def test_the_code_is_the_leftmost_then_shortest(pattern: str, name: str, code: str) -> None:
    assert agent_code_by_pattern(pattern, name) == code


@pytest.mark.parametrize(
    ("pattern", "name", "code"),
    [
        ("{agent}.wav", "A-b_9.wav", "A-b_9"),
        ("{agent}.wav", "A" * 32 + ".wav", "A" * 32),
    ],
)
def test_codes_are_letters_digits_underscores_and_dashes_up_to_32(
    pattern: str, name: str, code: str
) -> None:
    assert agent_code_by_pattern(pattern, name) == code


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("*_{agent}_*.wav", "call_JS001_20260115.mp3"),  # the rest does not fit
        ("*_{agent}_*.wav", "callJS001.wav"),
        ("{agent}.wav", "A" * 33 + ".wav"),  # too long for a code
        ("{agent}.wav", "J S.wav"),  # a space is not part of a code
        ("{agent}.wav", "JÉ01.wav"),  # neither is a non-ASCII letter
        ("{agent}.wav", ".wav"),  # a code is at least one character
        ("rec_{agent}.wav", "call_JS001.wav"),
        ("*.wav{agent}", "a.wav"),
    ],
)
def test_a_name_the_pattern_does_not_fit_has_no_code(pattern: str, name: str) -> None:
    assert agent_code_by_pattern(pattern, name) is None


def test_the_longest_allowed_pattern_is_taken() -> None:
    pattern = "{agent}" + "x" * (MAX_PATTERN_LENGTH - len("{agent}"))
    assert parse_agent_pattern(pattern).after == "x" * (MAX_PATTERN_LENGTH - 7)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("*_*.wav", "needs {agent} exactly once where the code sits, e.g. *_{agent}_*.wav"),
        ("", "needs {agent} exactly once"),
        ("{agent}_{agent}.wav", "needs {agent} exactly once"),
        ("{agent}_{AGENT}.wav", "needs {agent} exactly once"),
        ("calls/{agent}.wav", "matches a file's name, not a path; leave out '/' and '\\'"),
        ("calls\\{agent}.wav", "not a path"),
        ("{agent}" + "x" * MAX_PATTERN_LENGTH, f"at most {MAX_PATTERN_LENGTH} characters"),
    ],
)
def test_unusable_patterns_are_refused_with_words_that_say_what_to_write(
    pattern: str, words: str
) -> None:
    with pytest.raises(AgentPatternError) as refused:
        parse_agent_pattern(pattern)
    assert words in str(refused.value)
    assert isinstance(refused.value, ValueError)  # the gateway's settings rules catch these


def test_a_hostile_pattern_and_name_answer_no_code_without_backtracking() -> None:
    # A backtracking matcher takes exponential time here; this one is proportional to
    # name length x pattern length. If it hangs, the suite's timeout says so.
    assert agent_code_by_pattern("*a*a*a*a*a*{agent}*b*a*a*a*a*a*", "a" * 255) is None
    assert agent_code_by_pattern("*a*a*a*a*a*a*a*a*a*{agent}*", "a" * 255) == "a"
    hostile = "*" + "a*" * 90 + "{agent}*c"
    assert agent_code_by_pattern(hostile, "a" * 254 + "b") is None


@pytest.mark.parametrize(
    ("pattern", "name", "code"),
    [
        # "İ".lower() is two characters: the lower-cased name is longer than the name.
        ("*_{agent}_*.wav", "İİ_JS001_x.wav", "JS001"),
        ("*_{agent}.wav", "İ_JS001.wav", "JS001"),
        ("*_{agent}", "İ_AB", "AB"),
        ("*{agent}", "İİİİ_AB", "_AB"),
        ("*_{agent}.wav", "İİİ_AB.wav", "AB"),
        ("*_{agent}.wav", "İİİİİ_AB.wav", "AB"),
        ("*{agent}.wav", "İİİİİ.wav", None),
    ],
)
def test_names_whose_lower_case_is_longer_still_give_the_right_code(
    pattern: str, name: str, code: str | None
) -> None:
    assert agent_code_by_pattern(pattern, name) == code
