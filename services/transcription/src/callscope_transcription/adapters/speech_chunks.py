"""Packs stretches of speech into 30-second chunks for Whisper, and maps chunk times back.

Whisper always encodes 30 seconds; fed one short phrase at a time it would spend
most of its work on padding. So the speech spans the VAD found (each with its
silence pads) are laid end to end, silence between them left out, until the next
one would not fit. Each chunk remembers where every piece came from (the call
time and the voice: the stereo channel), so a word heard in the chunk gets its
time in the call and its voice back.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from callscope_transcription.ports import SAMPLE_RATE, Samples


@dataclass(frozen=True)
class SpeechPiece:
    """A stretch of speech cut from the call: its voice, where it starts, and its samples."""

    voice: int
    start: int
    """Samples from the call's start."""
    samples: Samples


@dataclass(frozen=True)
class PlacedPiece:
    """Where a piece sits in a chunk and in the call (seconds)."""

    voice: int
    call_start: float
    chunk_start: float
    duration: float


@dataclass(frozen=True)
class Chunk:
    """Up to 30 seconds of speech pieces laid end to end."""

    samples: Samples
    pieces: tuple[PlacedPiece, ...]
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(piece.chunk_start for piece in self.pieces))

    def piece_at(self, seconds: float) -> PlacedPiece:
        """The piece a chunk time falls in (the nearest one before it, at the edges)."""
        return self.pieces[max(0, bisect_right(self._starts, seconds) - 1)]

    def to_call(self, seconds: float, piece: PlacedPiece) -> float:
        """A chunk time as call time, inside the given piece."""
        inside = min(max(seconds - piece.chunk_start, 0.0), piece.duration)
        return round(piece.call_start + inside, 3)


class ChunkPacker:
    """Lays pieces end to end into chunks of at most chunk_samples."""

    def __init__(self, chunk_samples: int) -> None:
        self._chunk_samples = chunk_samples
        self._pieces: list[SpeechPiece] = []
        self._filled = 0

    def add(self, piece: SpeechPiece) -> list[Chunk]:
        """Takes a piece; returns the chunks it completed (none, usually)."""
        done: list[Chunk] = []
        for part in self._parts(piece):
            if self._filled + part.samples.size > self._chunk_samples:
                done.extend(self.flush())
            self._pieces.append(part)
            self._filled += part.samples.size
        return done

    def flush(self) -> list[Chunk]:
        """The partly filled chunk, if any (at the end of the call)."""
        if not self._pieces:
            return []
        placed = []
        position = 0
        for piece in self._pieces:
            placed.append(
                PlacedPiece(
                    voice=piece.voice,
                    call_start=piece.start / SAMPLE_RATE,
                    chunk_start=position / SAMPLE_RATE,
                    duration=piece.samples.size / SAMPLE_RATE,
                )
            )
            position += piece.samples.size
        chunk = Chunk(np.concatenate([piece.samples for piece in self._pieces]), tuple(placed))
        self._pieces = []
        self._filled = 0
        return [chunk]

    def _parts(self, piece: SpeechPiece) -> list[SpeechPiece]:
        """The piece itself, or chunk-sized parts of it if it is too long (the VAD prevents it)."""
        size = self._chunk_samples
        if piece.samples.size <= size:
            return [piece]
        return [
            SpeechPiece(piece.voice, piece.start + at, piece.samples[at : at + size])
            for at in range(0, piece.samples.size, size)
        ]
