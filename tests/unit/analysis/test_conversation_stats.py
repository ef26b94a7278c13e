"""Conversation figures from a transcript: talk time and share, rate, silence, interruptions."""

from __future__ import annotations

import pytest
from callscope_analysis.domain.conversation import conversation_stats
from callscope_analysis.domain.model import PartyTalk, Segment, Speaker, Transcript, Word

pytestmark = pytest.mark.unit

AGENT, CUSTOMER = Speaker.AGENT, Speaker.CUSTOMER


def _segment(speaker: Speaker, *words: tuple[str, float, float]) -> Segment:
    built = tuple(Word(text, start, end) for text, start, end in words)
    return Segment(speaker, built[0].start, built[-1].end, " ".join(w for w, _, _ in words), built)


def _transcript(*segments: Segment) -> Transcript:
    return Transcript("t", "call", "org", 1, 60.0, segments)


def test_talk_time_share_and_rate_per_party() -> None:
    stats = conversation_stats(
        _transcript(
            _segment(AGENT, ("Hello", 0.0, 1.0), ("there", 1.5, 2.0)),  # 1.5 s, a 0.5 s pause
            _segment(CUSTOMER, ("Hi", 3.0, 3.5)),
            _segment(AGENT, ("How", 4.0, 4.5), ("can", 4.5, 5.0), ("I", 5.0, 5.5)),
        )
    )

    assert stats.talk == (
        PartyTalk(AGENT, seconds=3.0, share=0.857, words=5, words_per_minute=100.0),
        PartyTalk(CUSTOMER, seconds=0.5, share=0.143, words=1, words_per_minute=120.0),
    )
    assert (stats.longest_silence_seconds, stats.longest_silence_start) == (1.0, 2.0)
    assert (stats.interruptions, stats.overlap_seconds) == (0, 0.0)


def test_hold_time_is_the_longest_silence() -> None:
    stats = conversation_stats(
        _transcript(
            _segment(AGENT, ("Please", 5.0, 5.5), ("hold", 5.5, 6.0)),
            _segment(AGENT, ("Thanks", 96.0, 96.5)),
            _segment(CUSTOMER, ("Okay", 97.0, 97.4)),
        )
    )

    # Silence before the first word (ringing) does not count.
    assert (stats.longest_silence_seconds, stats.longest_silence_start) == (90.0, 6.0)


def test_starting_well_inside_the_other_partys_speech_is_an_interruption() -> None:
    stats = conversation_stats(
        _transcript(
            _segment(AGENT, ("So", 0.0, 0.5), ("the", 0.5, 1.0), ("bill", 1.0, 3.0)),
            _segment(CUSTOMER, ("No", 1.5, 2.0), ("wait", 2.0, 2.5)),
            # A quick reply 0.1 s before the end is not an interruption.
            _segment(AGENT, ("Sure", 2.4, 2.8)),
        )
    )

    assert stats.interruptions == 1
    assert stats.overlap_seconds == 1.0
    shares = {party.speaker: party.share for party in stats.talk}
    # Both talk during the overlap; shares are of the summed talk time, so they add to 1.
    assert (shares[AGENT], shares[CUSTOMER]) == (0.75, 0.25)


def test_segments_without_word_times_count_as_a_whole() -> None:
    stats = conversation_stats(
        _transcript(Segment(Speaker.UNKNOWN, 0.0, 30.0, "one two three four five"))
    )

    assert stats.talk == (
        PartyTalk(Speaker.UNKNOWN, seconds=30.0, share=1.0, words=5, words_per_minute=10.0),
    )
    assert stats.interruptions == 0


def test_a_transcript_without_speech_has_zero_figures() -> None:
    stats = conversation_stats(_transcript())

    assert stats.talk == ()
    assert (stats.longest_silence_seconds, stats.interruptions, stats.overlap_seconds) == (
        0.0,
        0,
        0.0,
    )
