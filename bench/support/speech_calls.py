"""Spoken calls for the pipeline benchmarks: rendered once with espeak-ng, written many times.

The scripted dialogues of `tests/support/scripts.py` are rendered as stereo calls (agent
left, customer right), so the local Whisper model hears real words and the offline
evaluator has something to judge. Every file written is distinct: a seeded dither of a
few least significant bits (about -80 dBFS, inaudible) changes its bytes and so its
SHA-256, which ingest's duplicate detection would otherwise catch ("identical audio").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.support.audio import SAMPLE_RATE, read_wav, render_stereo, write_wav
from tests.support.dialogue import Dialogue
from tests.support.scripts import LABELLED_SCRIPTS

DITHER_PEAK = 3  # in least significant bits of 16-bit samples


@dataclass(frozen=True)
class SpokenCall:
    """A rendered call held in memory: its name and its channels' samples."""

    name: str
    channels: tuple[npt.NDArray[np.int16], ...]

    @property
    def seconds(self) -> float:
        """Its length."""
        return self.channels[0].size / SAMPLE_RATE

    def first(self, seconds: float) -> SpokenCall:
        """Its beginning, cut after some seconds (possibly mid-word)."""
        end = round(seconds * SAMPLE_RATE)
        return SpokenCall(f"{self.name}-{seconds:g}s", tuple(c[:end] for c in self.channels))


def render_dialogue(dialogue: Dialogue, folder: Path) -> SpokenCall:
    """Renders one dialogue as a stereo call."""
    rendered = render_stereo(dialogue, folder / f"{dialogue.name}.wav")
    return SpokenCall(dialogue.name, tuple(read_wav(rendered.path)))


def render_scripts(folder: Path) -> list[SpokenCall]:
    """Every labelled script as a stereo call (24-37 s each)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [render_dialogue(script.dialogue, folder) for script in LABELLED_SCRIPTS]


def long_call(calls: Sequence[SpokenCall], seconds: float) -> SpokenCall:
    """The calls played one after another, looped as needed, cut at exactly `seconds`."""
    needed = round(seconds * SAMPLE_RATE)
    pieces: list[SpokenCall] = []
    while sum(piece.channels[0].size for piece in pieces) < needed:
        pieces.append(calls[len(pieces) % len(calls)])
    channels = tuple(
        np.concatenate([piece.channels[side] for piece in pieces])[:needed]
        for side in range(len(calls[0].channels))
    )
    return SpokenCall(f"long-{seconds:g}s", channels)


def write_distinct(call: SpokenCall, path: Path, seed: int) -> Path:
    """Writes the call as a WAV with its own dither, so no two seeds give the same bytes."""
    generator = np.random.default_rng(seed)
    dithered = [
        np.clip(
            channel.astype(np.int32)
            + generator.integers(-DITHER_PEAK, DITHER_PEAK + 1, channel.size),
            -32768,
            32767,
        ).astype(np.int16)
        for channel in call.channels
    ]
    write_wav(path, dithered, SAMPLE_RATE)
    return path


def write_batch(
    calls: Sequence[SpokenCall], folder: Path, count: int, first_seed: int
) -> list[Path]:
    """`count` distinct files cycling through the calls, seeded first_seed, first_seed + 1, ...

    Seeds must not repeat within a campaign (a repeat is a duplicate upload).
    """
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_distinct(
            calls[index % len(calls)],
            folder / f"{calls[index % len(calls)].name.lower()}-{first_seed + index}.wav",
            first_seed + index,
        )
        for index in range(count)
    ]
