"""Diarization error rate (DER): how much of the reference speech got the wrong voice, or none.

Scored the way NIST's md-eval scores it: a collar (seconds) either side of every
reference segment's start and end is left out, because nobody can say to the
millisecond where a turn begins; hypothesis voices are mapped one-to-one onto
reference parties so that the most speech agrees (the labels a system invents
mean nothing by themselves); then, instant by instant,

- missed speech: reference speakers talking beyond the hypothesis speakers,
- false alarm: hypothesis speakers beyond the reference speakers,
- speaker confusion: speakers counted by both sides that the mapping does not pair,

each summed over time and divided by the scored reference speech (speaker-seconds).
Computed exactly on the intervals between boundaries, with no time grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

# Exhaustive mapping search is factorial in the number of speakers; calls have two.
_MAX_SPEAKERS = 7


@dataclass(frozen=True)
class LabelledSpan:
    """A stretch of time (seconds) in which one speaker talks."""

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class DiarizationError:
    """The scored reference speech and the three kinds of error, all in speaker-seconds."""

    scored_speech: float
    missed: float
    false_alarm: float
    confusion: float
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """The DER: all errors over the scored reference speech (0 when nothing was scored)."""
        return self._share(self.missed + self.false_alarm + self.confusion)

    @property
    def missed_rate(self) -> float:
        """Missed speech as a share of the scored reference speech."""
        return self._share(self.missed)

    @property
    def false_alarm_rate(self) -> float:
        """False alarm as a share of the scored reference speech."""
        return self._share(self.false_alarm)

    @property
    def confusion_rate(self) -> float:
        """Speaker confusion as a share of the scored reference speech."""
        return self._share(self.confusion)

    def __add__(self, other: DiarizationError) -> DiarizationError:
        """Pools two results (e.g. two calls): sums of seconds, so long calls weigh more."""
        return DiarizationError(
            scored_speech=self.scored_speech + other.scored_speech,
            missed=self.missed + other.missed,
            false_alarm=self.false_alarm + other.false_alarm,
            confusion=self.confusion + other.confusion,
        )

    def _share(self, seconds: float) -> float:
        return seconds / self.scored_speech if self.scored_speech > 0 else 0.0


def diarization_error(
    reference: Sequence[LabelledSpan],
    hypothesis: Sequence[LabelledSpan],
    *,
    collar: float = 0.25,
) -> DiarizationError:
    """Scores a hypothesis against the reference with the optimal one-to-one label mapping."""
    ref_labels = sorted({span.label for span in reference})
    hyp_labels = sorted({span.label for span in hypothesis})
    if max(len(ref_labels), len(hyp_labels)) > _MAX_SPEAKERS:
        raise ValueError(f"at most {_MAX_SPEAKERS} speakers per side can be mapped exhaustively")
    pieces = _pieces(reference, hypothesis, _collars(reference, collar))
    best: DiarizationError | None = None
    for mapping in _mappings(hyp_labels, ref_labels):
        result = _score(pieces, mapping)
        if best is None or result.confusion < best.confusion:
            best = result
    assert best is not None  # _mappings always yields at least the empty mapping
    return best


# One elementary interval: its length, the reference labels and the hypothesis labels active.
_Piece = tuple[float, frozenset[str], frozenset[str]]


def _collars(reference: Sequence[LabelledSpan], collar: float) -> list[tuple[float, float]]:
    """The unscored zones: collar seconds either side of each reference boundary."""
    if collar <= 0:
        return []
    edges = [edge for span in reference for edge in (span.start, span.end)]
    return [(edge - collar, edge + collar) for edge in edges]


def _pieces(
    reference: Sequence[LabelledSpan],
    hypothesis: Sequence[LabelledSpan],
    excluded: Sequence[tuple[float, float]],
) -> list[_Piece]:
    """Cuts the timeline at every boundary; keeps the scored intervals where anyone talks."""
    bounds = sorted(
        {span.start for span in (*reference, *hypothesis)}
        | {span.end for span in (*reference, *hypothesis)}
        | {edge for zone in excluded for edge in zone}
    )
    pieces: list[_Piece] = []
    for start, end in itertools.pairwise(bounds):
        middle = (start + end) / 2
        if any(low < middle < high for low, high in excluded):
            continue
        ref = frozenset(span.label for span in reference if span.start < middle < span.end)
        hyp = frozenset(span.label for span in hypothesis if span.start < middle < span.end)
        if ref or hyp:
            pieces.append((end - start, ref, hyp))
    return pieces


def _mappings(hyp_labels: Sequence[str], ref_labels: Sequence[str]) -> list[dict[str, str]]:
    """Every one-to-one mapping of hypothesis labels onto reference labels (some may stay out)."""
    size = min(len(hyp_labels), len(ref_labels))
    mappings: list[dict[str, str]] = []
    for chosen_hyp in itertools.permutations(hyp_labels, size):
        for chosen_ref in itertools.combinations(ref_labels, size):
            mappings.append(dict(zip(chosen_hyp, chosen_ref, strict=True)))
    return mappings or [{}]


def _score(pieces: Sequence[_Piece], mapping: dict[str, str]) -> DiarizationError:
    scored = missed = false_alarm = confusion = 0.0
    for length, ref, hyp in pieces:
        correct = sum(1 for label in hyp if mapping.get(label) in ref)
        scored += length * len(ref)
        missed += length * max(0, len(ref) - len(hyp))
        false_alarm += length * max(0, len(hyp) - len(ref))
        confusion += length * (min(len(ref), len(hyp)) - correct)
    return DiarizationError(scored, missed, false_alarm, confusion, dict(mapping))
