"""Finding an evaluator's quoted evidence in the transcript, so no answer rests on invented words.

A language model may paraphrase or invent a quote. A quote counts as found when
every part of it (parts are separated by an ellipsis, as people shorten quotes)
occurs in one turn, or in two consecutive turns, word for word after
normalisation: punctuation, case, contractions and digits do not matter,
different words do. A long part may miss one word in eight (a dropped "um"),
and the words it matches must lie together, not scattered over the turn. The
evidence then carries the transcript's own speaker and times, never the model's.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass

from callscope_analysis.domain.model import Evidence, Segment, Speaker, Transcript
from callscope_analysis.domain.text import normalise

# One word in this many may be missing from a long quote part.
WORDS_PER_SLIP = 8

_ELLIPSIS = re.compile(r"\.\.\.+|…")


@dataclass(frozen=True)
class _Turns:
    """One turn, or two consecutive turns joined, as a place a quote may come from."""

    normalised: str
    segments: tuple[Segment, ...]


def locate_quote(transcript: Transcript, quote: str) -> Evidence | None:
    """Where the transcript says the quote (its speaker and times), or None if it does not."""
    parts = [normalise(part) for part in _ELLIPSIS.split(quote)]
    parts = [part for part in parts if part]
    if not parts:
        return None
    places = _places(transcript)
    found: list[_Turns] = []
    for part in parts:
        place = _first_place(places, part.split())
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


def _first_place(places: list[_Turns], words: list[str]) -> _Turns | None:
    """The first place (single turns before joined pairs) that holds the words."""
    return next((place for place in places if _holds(place.normalised.split(), words)), None)


def _holds(place: list[str], words: list[str]) -> bool:
    """Whether the place says the words in order, together, at most a word in eight missing."""
    matcher = difflib.SequenceMatcher(a=words, b=place, autojunk=False)
    blocks = [block for block in matcher.get_matching_blocks() if block.size]
    matched = sum(block.size for block in blocks)
    if not blocks or matched < len(words) - len(words) // WORDS_PER_SLIP:
        return False
    spread = blocks[-1].b + blocks[-1].size - blocks[0].b
    return spread <= len(words) + len(words) // WORDS_PER_SLIP


def _speaker_of(segments: tuple[Segment, ...]) -> Speaker:
    speakers = {segment.speaker for segment in segments}
    return speakers.pop() if len(speakers) == 1 else segments[0].speaker
