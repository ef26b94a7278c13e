"""Who spoke what: each voice takes its role, and the voices merge into one timeline."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

from callscope_transcription.domain.model import Segment, Speaker, SpeakerRoles, Utterance
from callscope_transcription.domain.roles import speaker_of


def label_segments(utterances: Sequence[Utterance], roles: SpeakerRoles) -> tuple[Segment, ...]:
    """The transcript's timeline: each voice's utterances under its role, merged by time."""
    voices = sorted({utterance.voice for utterance in utterances})
    return merge_channels(
        [
            (speaker_of(voice, roles), [item for item in utterances if item.voice == voice])
            for voice in voices
        ]
    )


def swap_segments(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """The same timeline with agent and customer exchanged (unknown stays unknown)."""
    exchanged = {Speaker.AGENT: Speaker.CUSTOMER, Speaker.CUSTOMER: Speaker.AGENT}
    return tuple(
        replace(segment, speaker=exchanged.get(segment.speaker, segment.speaker))
        for segment in segments
    )


def merge_channels(channels: Sequence[tuple[Speaker, Sequence[Utterance]]]) -> tuple[Segment, ...]:
    """One timeline from per-channel speech: turns split where another party spoke, by start time.

    A recogniser may return one utterance that spans a party's two turns with the
    other party's turn in between (the pause was short enough, or voice-activity
    filtering joined the speech); such an utterance is split at that pause so the
    merged transcript reads in the order the words were spoken. Ties in start
    time keep the channel order.
    """
    word_starts = [
        sorted(word.start for utterance in utterances for word in utterance.words)
        for _, utterances in channels
    ]
    placed: list[tuple[float, float, int, Segment]] = []
    for index, (speaker, utterances) in enumerate(channels):
        others = sorted(
            start for other, starts in enumerate(word_starts) if other != index for start in starts
        )
        for utterance in utterances:
            for piece in split_where_interrupted(utterance, others):
                segment = Segment(speaker, piece.start, piece.end, piece.text, piece.words)
                placed.append((segment.start, segment.end, index, segment))
    placed.sort(key=lambda item: item[:3])
    return tuple(segment for *_, segment in placed)


def split_where_interrupted(
    utterance: Utterance, other_word_starts: Sequence[float]
) -> list[Utterance]:
    """Splits an utterance between two of its words wherever another party started a word."""
    groups = [[utterance.words[0]]] if utterance.words else []
    for previous, word in pairwise(utterance.words):
        following = bisect_right(other_word_starts, previous.end)
        if following < len(other_word_starts) and other_word_starts[following] < word.start:
            groups.append([word])
        else:
            groups[-1].append(word)
    if len(groups) <= 1:
        return [utterance]
    return [
        Utterance(
            start=group[0].start,
            end=group[-1].end,
            text=" ".join(word.text for word in group),
            words=tuple(group),
        )
        for group in groups
    ]
