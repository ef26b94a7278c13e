"""Many distinct short calls made cheaply: two spoken clips rendered once, then variants.

Rendering speech with espeak-ng costs about a second a clip; 200 calls per scenario would
cost minutes. Each variant is one of two renders of a short greeting (mono and stereo,
8 kHz) followed by a short tail of quiet noise whose length and seed depend on the
variant's number, so every file's bytes (and SHA-256, which ingest's duplicate rule
compares) differ while the speech, and so what the Deepgram stand-in is told it hears,
stays the rendered one. The calls last 13 to 16 s, above ingest's 10 s minimum.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.support.audio import RenderedAudio, read_wav, render_mono, render_stereo, write_wav
from tests.support.call_scripts import SHORT_GREETING
from tests.support.fake_deepgram import FakeDeepgram
from tests.support.fake_http_server import heard_lines

SAMPLE_RATE = 8_000
TAIL_LEVEL = 0.002  # of full scale: well below the speech, above digital silence


@dataclass(frozen=True)
class CallFile:
    """One distinct recording: its file, the bytes' SHA-256 and the render it extends."""

    number: int
    path: Path
    sha256: str
    base: RenderedAudio


def render_corpus(folder: Path, size: int) -> list[CallFile]:
    """size distinct recordings in folder, alternating between a mono and a stereo render."""
    folder.mkdir(parents=True, exist_ok=True)
    bases = (
        render_mono(SHORT_GREETING, folder / "base-mono.wav", sample_rate=SAMPLE_RATE),
        render_stereo(SHORT_GREETING, folder / "base-stereo.wav", sample_rate=SAMPLE_RATE),
    )
    tracks = [read_wav(base.path) for base in bases]
    files = []
    for number in range(size):
        base, channels = bases[number % 2], tracks[number % 2]
        path = folder / f"call-{number:04d}.wav"
        write_wav(path, [_with_tail(track, number) for track in channels], SAMPLE_RATE)
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append(CallFile(number, path, sha256, base))
    return files


def teach_deepgram(deepgram: FakeDeepgram, files: list[CallFile]) -> None:
    """Tells the Deepgram stand-in what every recording says (the tail adds no words)."""
    for call_file in files:
        deepgram.register(call_file.path, heard_lines(call_file.base))


def _with_tail(track: npt.NDArray[np.int16], number: int) -> npt.NDArray[np.int16]:
    """The track followed by 0.5-1.9 s of noise seeded by the variant's number."""
    generator = np.random.default_rng(number)
    length = round((0.5 + (number % 15) * 0.1) * SAMPLE_RATE)
    tail = (generator.uniform(-TAIL_LEVEL, TAIL_LEVEL, length) * 32767).astype(np.int16)
    return np.concatenate([track, tail])
