"""Renders scripted dialogues to call audio with espeak-ng, so tests know what was said and when.

Each party speaks with its own espeak-ng voice. Stereo puts the agent on the left
channel and the customer on the right (the other channel is silent during a
turn), as call-centre recorders do; mono mixes both into one channel. Every
step is deterministic: the same dialogue always renders to the same samples.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from tests.support.dialogue import Dialogue, Party

SAMPLE_RATE = 16_000
AudioFormat = Literal["wav", "mp3", "ogg", "m4a", "flac", "webm"]

# Encoder arguments per target format; ffmpeg picks the container from the extension.
_ENCODERS: dict[str, tuple[str, ...]] = {
    "wav": ("-c:a", "pcm_s16le"),
    "mp3": ("-c:a", "libmp3lame", "-b:a", "64k"),
    "ogg": ("-c:a", "libvorbis", "-q:a", "4"),
    "m4a": ("-c:a", "aac", "-b:a", "64k"),
    "flac": ("-c:a", "flac"),
    "webm": ("-c:a", "libopus", "-b:a", "48k"),
}
# Samples quieter than this (of full scale) at a line's edges are trimmed, so timings are tight.
_EDGE_THRESHOLD = 0.01


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: a language/variant name, words per minute and pitch (0-99)."""

    name: str
    speed: int
    pitch: int


AGENT_VOICE = Voice(name="en-us", speed=160, pitch=40)
# espeak-ng 1.51 ignores a variant written after "en-gb": this customer is the plain en-gb
# (male) voice at a higher pitch, not a female one. The two default parties differ mainly in
# pitch and accent, the hardest case for mono voice splitting (bench/diarization.py measures
# real male/female and same-sex pairs); the name is kept so recorded figures stay comparable.
CUSTOMER_VOICE = Voice(name="en-gb+f5", speed=150, pitch=60)


@dataclass(frozen=True)
class Turn:
    """Where one line of the dialogue sits in the rendered audio, in seconds."""

    party: Party
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class RenderedAudio:
    """A rendered call: its file, length, channel count and the timing of every line."""

    path: Path
    duration: float
    channels: int
    turns: tuple[Turn, ...]


def synthesise(text: str, voice: Voice, sample_rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    """One line spoken by one voice, as mono 16-bit samples with the silent edges trimmed."""
    _require("espeak-ng", "sox")
    with tempfile.TemporaryDirectory(prefix="callscope-tts-") as tmp:
        text_file = Path(tmp) / "line.txt"
        raw = Path(tmp) / "raw.wav"
        resampled = Path(tmp) / "line.wav"
        text_file.write_text(text, encoding="utf-8")
        # -f reads the text from a file, so a line starting with "-" is never an option.
        _run(
            "espeak-ng",
            "-v",
            voice.name,
            "-s",
            str(voice.speed),
            "-p",
            str(voice.pitch),
            "-w",
            str(raw),
            "-f",
            str(text_file),
        )
        # -R seeds sox's random generators and -D turns dither off: the same line always
        # resamples to the same samples.
        _run(
            "sox",
            "-R",
            "-D",
            str(raw),
            "-r",
            str(sample_rate),
            "-c",
            "1",
            "-b",
            "16",
            str(resampled),
        )
        samples = read_wav(resampled)[0]
    return _trim(samples)


def render_stereo(
    dialogue: Dialogue,
    path: Path,
    *,
    pause_s: float = 0.5,
    agent_voice: Voice = AGENT_VOICE,
    customer_voice: Voice = CUSTOMER_VOICE,
    sample_rate: int = SAMPLE_RATE,
) -> RenderedAudio:
    """Writes a 16-bit stereo wav: the agent on the left channel, the customer on the right."""
    lines, turns = _lay_out(dialogue, pause_s, agent_voice, customer_voice, sample_rate)
    length = _total_length(lines, pause_s, sample_rate)
    left = np.zeros(length, dtype=np.int16)
    right = np.zeros(length, dtype=np.int16)
    for party, offset, samples in lines:
        target = left if party == "AGENT" else right
        target[offset : offset + samples.size] = samples
    write_wav(path, [left, right], sample_rate)
    return RenderedAudio(path, length / sample_rate, 2, turns)


def render_mono(
    dialogue: Dialogue,
    path: Path,
    *,
    pause_s: float = 0.5,
    agent_voice: Voice = AGENT_VOICE,
    customer_voice: Voice = CUSTOMER_VOICE,
    sample_rate: int = SAMPLE_RATE,
) -> RenderedAudio:
    """Writes a 16-bit mono wav with both parties in the one channel, turn after turn."""
    lines, turns = _lay_out(dialogue, pause_s, agent_voice, customer_voice, sample_rate)
    length = _total_length(lines, pause_s, sample_rate)
    mixed = np.zeros(length, dtype=np.int16)
    for _, offset, samples in lines:
        mixed[offset : offset + samples.size] = samples
    write_wav(path, [mixed], sample_rate)
    return RenderedAudio(path, length / sample_rate, 1, turns)


def render_silence(
    path: Path, seconds: float, *, channels: int = 2, sample_rate: int = SAMPLE_RATE
) -> Path:
    """Writes a wav of digital silence."""
    length = round(seconds * sample_rate)
    write_wav(path, [np.zeros(length, dtype=np.int16) for _ in range(channels)], sample_rate)
    return path


def render_noise(
    path: Path,
    seconds: float,
    *,
    level: float = 0.01,
    channels: int = 1,
    seed: int = 7,
    sample_rate: int = SAMPLE_RATE,
) -> Path:
    """Writes a wav of quiet white noise (level is the peak as a fraction of full scale)."""
    generator = np.random.default_rng(seed)
    length = round(seconds * sample_rate)
    tracks = [
        (generator.uniform(-level, level, length) * 32767).astype(np.int16) for _ in range(channels)
    ]
    write_wav(path, tracks, sample_rate)
    return path


def convert(path: Path, fmt: AudioFormat, target: Path | None = None) -> Path:
    """Re-encodes an audio file with ffmpeg (mp3, ogg, m4a, flac, webm or wav); returns the copy."""
    _require("ffmpeg")
    destination = target or path.with_suffix(f".{fmt}")
    _run(
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(path),
        "-map_metadata",
        "-1",
        # Encoders stamp their version unless told not to; bitexact keeps the bytes reproducible.
        "-fflags",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        *_ENCODERS[fmt],
        str(destination),
    )
    return destination


def read_wav(path: Path) -> list[npt.NDArray[np.int16]]:
    """The channels of a 16-bit PCM wav file, one array each."""
    with wave.open(str(path), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16-bit PCM")
        channels = reader.getnchannels()
        frames = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    return [frames[channel::channels].astype(np.int16) for channel in range(channels)]


def write_wav(path: Path, channels: list[npt.NDArray[np.int16]], sample_rate: int) -> None:
    """Writes equally long 16-bit channels as one interleaved PCM wav file."""
    interleaved = np.stack(channels, axis=1).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(len(channels))
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(interleaved.tobytes())


_PlacedLine = tuple[Party, int, npt.NDArray[np.int16]]


def _lay_out(
    dialogue: Dialogue,
    pause_s: float,
    agent_voice: Voice,
    customer_voice: Voice,
    sample_rate: int,
) -> tuple[list[_PlacedLine], tuple[Turn, ...]]:
    """Synthesises every line and places it after the previous one and a pause."""
    if not dialogue.lines:
        raise ValueError(f"dialogue {dialogue.name!r} has no lines")
    gap = round(pause_s * sample_rate)
    offset = gap
    placed: list[_PlacedLine] = []
    turns: list[Turn] = []
    for line in dialogue.lines:
        voice = agent_voice if line.party == "AGENT" else customer_voice
        samples = synthesise(line.text, voice, sample_rate)
        placed.append((line.party, offset, samples))
        turns.append(
            Turn(
                party=line.party,
                text=line.text,
                start=offset / sample_rate,
                end=(offset + samples.size) / sample_rate,
            )
        )
        offset += samples.size + gap
    return placed, tuple(turns)


def _total_length(lines: list[_PlacedLine], pause_s: float, sample_rate: int) -> int:
    _, offset, samples = lines[-1]
    return offset + samples.size + round(pause_s * sample_rate)


def _trim(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _EDGE_THRESHOLD * 32767)
    if loud.size == 0:
        return samples
    return samples[loud[0] : loud[-1] + 1]


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def _require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"rendering test audio needs {', '.join(missing)} on PATH")
