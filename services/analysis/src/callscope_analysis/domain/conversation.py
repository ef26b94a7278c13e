"""Conversation figures shown beside the checks: who talked how much, silences, interruptions.

Cheap and deterministic: computed from the transcript's word times (a segment's own
span when it has no words), stored with each analysis version.

- Talk time of a party is the union of its words' intervals, so a pause inside a
  sentence does not count as talking.
- Share is a party's talk time over the parties' summed talk time (overlapping speech
  counts for both parties, so the shares always add up to 100 %).
- Speaking rate is a party's words per minute of its own talk time.
- The longest silence is the longest stretch between the first and the last word in
  which nobody speaks: hold time and dead air, not the ringing before the call.
- An interruption is a turn that starts more than INTERRUPTION_OVERLAP_S before the
  other party's speech ends; overlap is the time both parties speak at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from callscope_analysis.domain.model import (
    ConversationStats,
    PartyTalk,
    Segment,
    Speaker,
    Transcript,
)

INTERRUPTION_OVERLAP_S = 0.3
"""Starting this far into the other party's speech is an interruption, not a quick reply."""

Interval = tuple[float, float]


def conversation_stats(transcript: Transcript) -> ConversationStats:
    """The figures of a transcript (all zero when nobody spoke)."""
    speakers = sorted({segment.speaker for segment in transcript.segments})
    spans = {speaker: _union(_intervals(transcript.segments, speaker)) for speaker in speakers}
    seconds = {speaker: _length(spans[speaker]) for speaker in speakers}
    total = sum(seconds.values())
    talk = tuple(
        PartyTalk(
            speaker=speaker,
            seconds=round(seconds[speaker], 2),
            share=round(seconds[speaker] / total, 3) if total else 0.0,
            words=_word_count(transcript.segments, speaker),
            words_per_minute=_rate(transcript.segments, speaker, seconds[speaker]),
        )
        for speaker in speakers
    )
    silence_start, silence = _longest_gap(_union([i for s in spans.values() for i in s]))
    agent = spans.get(Speaker.AGENT, [])
    customer = spans.get(Speaker.CUSTOMER, [])
    return ConversationStats(
        talk=talk,
        longest_silence_seconds=round(silence, 2),
        longest_silence_start=round(silence_start, 2),
        interruptions=_interruptions(transcript.segments),
        overlap_seconds=round(_overlap(agent, customer), 2),
    )


def _intervals(segments: Sequence[Segment], speaker: Speaker) -> list[Interval]:
    intervals: list[Interval] = []
    for segment in segments:
        if segment.speaker is not speaker:
            continue
        if segment.words:
            intervals += [(word.start, word.end) for word in segment.words if word.end > word.start]
        elif segment.end > segment.start:
            intervals.append((segment.start, segment.end))
    return intervals


def _union(intervals: Sequence[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _length(intervals: Sequence[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def _word_count(segments: Sequence[Segment], speaker: Speaker) -> int:
    return sum(
        len(segment.words) or len(segment.text.split())
        for segment in segments
        if segment.speaker is speaker
    )


def _rate(segments: Sequence[Segment], speaker: Speaker, seconds: float) -> float:
    if seconds <= 0:
        return 0.0
    return round(_word_count(segments, speaker) * 60.0 / seconds, 1)


def _longest_gap(speech: Sequence[Interval]) -> tuple[float, float]:
    """Where the longest gap between two stretches of speech starts, and how long it is."""
    best_start, best = 0.0, 0.0
    for (_, end), (start, _) in pairwise(speech):
        if start - end > best:
            best_start, best = end, start - end
    return best_start, best


def _interruptions(segments: Sequence[Segment]) -> int:
    """Turns that start well inside the other party's still-running speech."""
    count = 0
    ends: dict[Speaker, float] = {}
    for segment in sorted(segments, key=lambda item: item.start):
        if segment.speaker in (Speaker.AGENT, Speaker.CUSTOMER):
            other = Speaker.CUSTOMER if segment.speaker is Speaker.AGENT else Speaker.AGENT
            if ends.get(other, float("-inf")) - segment.start > INTERRUPTION_OVERLAP_S:
                count += 1
        ends[segment.speaker] = max(ends.get(segment.speaker, segment.end), segment.end)
    return count


def _overlap(first: Sequence[Interval], second: Sequence[Interval]) -> float:
    total, i, j = 0.0, 0, 0
    while i < len(first) and j < len(second):
        low = max(first[i][0], second[j][0])
        high = min(first[i][1], second[j][1])
        total += max(0.0, high - low)
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return total
