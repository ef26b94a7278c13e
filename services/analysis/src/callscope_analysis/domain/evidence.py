"""Finding an evaluator's quoted evidence in the transcript, so no answer rests on invented words.

A language model may paraphrase or invent a quote. A quote counts as found when
every part of it (parts are separated by an ellipsis, as people shorten quotes)
occurs in one turn, or in two consecutive turns, at `QUOTE_MATCH_THRESHOLD`
similarity after normalisation: punctuation, case, contractions and digits do
not matter, different words do. The evidence then carries the transcript's own
speaker and times, never the model's.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from callscope_analysis.domain.evaluator import phrase_similarity
from callscope_analysis.domain.model import Evidence, Segment, Speaker, Transcript
from callscope_analysis.domain.text import normalise

QUOTE_MATCH_THRESHOLD = 90.0

_ELLIPSIS = re.compile(r"\.\.\.+|…")


@dataclass(frozen=True)
class _Turns:
    """One turn, or two consecutive turns joined, as a place a quote may come from."""

    normalised: str
    segments: tuple[Segment, ...]


def locate_quote(
    transcript: Transcript, quote: str, threshold: float = QUOTE_MATCH_THRESHOLD
) -> Evidence | None:
    """Where the transcript says the quote (its speaker and times), or None if it does not."""
    parts = [normalise(part) for part in _ELLIPSIS.split(quote)]
    parts = [part for part in parts if part]
    if not parts:
        return None
    places = _places(transcript)
    found: list[_Turns] = []
    for part in parts:
        place = _best_place(places, part, threshold)
        if place is None:
            return None
        found.append(place)
    first = found[0].segments
    return Evidence(
        quote=" … ".join(part.strip() for part in _ELLIPSIS.split(quote) if part.strip()),
        speaker=_speaker_of(first),
        start=first[0].start,
        end=max(place.segments[-1].end for place in found),
    )


def _places(transcript: Transcript) -> list[_Turns]:
    segments = sorted(transcript.segments, key=lambda segment: (segment.start, segment.end))
    places = [_Turns(normalise(segment.text), (segment,)) for segment in segments]
    places.extend(
        _Turns(normalise(f"{first.text} {second.text}"), (first, second))
        for first, second in itertools.pairwise(segments)
    )
    return places


def _best_place(places: list[_Turns], part: str, threshold: float) -> _Turns | None:
    """The place that holds the part best (single turns first on a tie), if any holds it."""
    best: _Turns | None = None
    best_score = threshold
    for place in places:
        if len(place.normalised) < len(part) * 0.9:
            continue
        score, _ = phrase_similarity(part, place.normalised)
        if score > best_score or (best is None and score >= best_score):
            best, best_score = place, score
    return best


def _speaker_of(segments: tuple[Segment, ...]) -> Speaker:
    speakers = {segment.speaker for segment in segments}
    return speakers.pop() if len(speakers) == 1 else segments[0].speaker
