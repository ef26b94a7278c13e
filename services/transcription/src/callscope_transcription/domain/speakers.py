"""Who spoke what: channels map to parties, and per-channel speech merges into one timeline."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

from callscope_transcription.domain.model import Segment, Speaker, Utterance

AgentChannel = Literal["left", "right"]


def channel_speakers(channel_count: int, agent_channel: AgentChannel) -> tuple[Speaker, ...]:
    """The party recorded on each channel: stereo is one party per side, mono is unknown."""
    if channel_count == 1:
        return (Speaker.UNKNOWN,)
    if channel_count == 2:
        if agent_channel == "left":
            return (Speaker.AGENT, Speaker.CUSTOMER)
        return (Speaker.CUSTOMER, Speaker.AGENT)
    raise ValueError(f"cannot assign speakers to {channel_count} channels; expected 1 or 2")


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
