"""Transcription's pure rules: merging voices into one timeline, version numbers, reasons."""

from __future__ import annotations

import pytest
from callscope_transcription.domain.errors import (
    MISSING_AUDIO_REASON,
    SILENT_AUDIO_REASON,
    UNDECODABLE_AUDIO_REASON,
    AudioMissingError,
    SilentAudioError,
    UndecodableAudioError,
)
from callscope_transcription.domain.model import Segment, Speaker, Utterance, Word
from callscope_transcription.domain.speakers import merge_channels, split_where_interrupted
from callscope_transcription.domain.versions import FIRST_VERSION, next_version

pytestmark = pytest.mark.unit


def _utterance(*words: tuple[str, float, float]) -> Utterance:
    built = tuple(Word(text, start, end, 0.9) for text, start, end in words)
    return Utterance(built[0].start, built[-1].end, " ".join(w.text for w in built), built)


def _texts(segments: tuple[Segment, ...]) -> list[tuple[Speaker, str]]:
    return [(segment.speaker, segment.text) for segment in segments]


def test_merge_orders_both_parties_by_start_time() -> None:
    agent = [
        _utterance(("Hello,", 0.5, 0.9), ("Northwind.", 1.0, 1.6)),
        _utterance(("Sure.", 5.0, 5.4)),
    ]
    customer = [_utterance(("Hi,", 2.0, 2.3), ("my", 2.4, 2.5), ("bill.", 2.6, 3.0))]

    merged = merge_channels([(Speaker.AGENT, agent), (Speaker.CUSTOMER, customer)])

    assert _texts(merged) == [
        (Speaker.AGENT, "Hello, Northwind."),
        (Speaker.CUSTOMER, "Hi, my bill."),
        (Speaker.AGENT, "Sure."),
    ]
    assert [segment.start for segment in merged] == sorted(segment.start for segment in merged)


def test_an_utterance_spanning_the_other_partys_turn_is_split_there() -> None:
    # Voice-activity filtering can join the agent's two turns into one utterance.
    agent = [
        _utterance(
            ("Name,", 0.0, 0.4), ("please?", 0.5, 0.9), ("Thank", 3.0, 3.2), ("you.", 3.3, 3.5)
        )
    ]
    customer = [_utterance(("Sarah", 1.5, 1.9), ("Collins.", 2.0, 2.5))]

    merged = merge_channels([(Speaker.AGENT, agent), (Speaker.CUSTOMER, customer)])

    assert _texts(merged) == [
        (Speaker.AGENT, "Name, please?"),
        (Speaker.CUSTOMER, "Sarah Collins."),
        (Speaker.AGENT, "Thank you."),
    ]
    assert (merged[2].start, merged[2].end) == (3.0, 3.5)
    assert [word.text for word in merged[2].words] == ["Thank", "you."]


def test_overlapping_speech_is_not_split_and_interleaves_by_start() -> None:
    # The customer says "yes" while the agent is mid-sentence, not in a pause between words.
    agent = [_utterance(("I", 0.0, 0.2), ("will", 0.2, 0.6), ("send", 0.6, 1.0))]
    customer = [_utterance(("Yes.", 0.3, 0.5))]

    merged = merge_channels([(Speaker.AGENT, agent), (Speaker.CUSTOMER, customer)])

    assert _texts(merged) == [(Speaker.AGENT, "I will send"), (Speaker.CUSTOMER, "Yes.")]


def test_a_pause_without_the_other_party_keeps_the_utterance_whole() -> None:
    utterance = _utterance(("Let", 0.0, 0.2), ("me", 0.3, 0.4), ("check.", 3.0, 3.4))
    assert split_where_interrupted(utterance, [10.0]) == [utterance]
    assert split_where_interrupted(utterance, []) == [utterance]


def test_equal_start_times_keep_channel_order() -> None:
    agent = [_utterance(("Hello.", 1.0, 1.5))]
    customer = [_utterance(("Hello.", 1.0, 1.5))]
    merged = merge_channels([(Speaker.AGENT, agent), (Speaker.CUSTOMER, customer)])
    assert [segment.speaker for segment in merged] == [Speaker.AGENT, Speaker.CUSTOMER]


def test_mono_speech_is_labelled_unknown() -> None:
    utterances = [_utterance(("Hello.", 0.0, 0.5)), _utterance(("Hi.", 1.0, 1.2))]
    merged = merge_channels([(Speaker.UNKNOWN, utterances)])
    assert _texts(merged) == [(Speaker.UNKNOWN, "Hello."), (Speaker.UNKNOWN, "Hi.")]


def test_no_speech_merges_to_nothing() -> None:
    assert merge_channels([]) == ()
    assert merge_channels([(Speaker.AGENT, []), (Speaker.CUSTOMER, [])]) == ()


def test_utterances_without_words_are_kept() -> None:
    bare = Utterance(0.0, 1.0, "Hello.", ())
    merged = merge_channels([(Speaker.AGENT, [bare])])
    assert merged == (Segment(Speaker.AGENT, 0.0, 1.0, "Hello.", ()),)


@pytest.mark.parametrize(("latest", "expected"), [(None, 1), (0, 1), (1, 2), (7, 8)])
def test_next_version_follows_the_latest(latest: int | None, expected: int) -> None:
    assert next_version(latest) == expected
    assert FIRST_VERSION == 1


def test_failure_reasons_are_sentences_for_people() -> None:
    assert SilentAudioError("0 words").reason == SILENT_AUDIO_REASON
    assert SilentAudioError().reason == "audio is silent: no speech was found"
    assert UndecodableAudioError("moov atom not found").reason == UNDECODABLE_AUDIO_REASON
    assert AudioMissingError("s3://b/k").reason == MISSING_AUDIO_REASON
    # The technical detail is kept for logs, never in the reason.
    assert "moov" not in UndecodableAudioError("moov atom not found").reason
