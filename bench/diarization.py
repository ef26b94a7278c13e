"""Diarization benchmark: how well the local voice splitter tells the two voices of a call apart.

What is measured
----------------
Method under test: `SpectralVoiceSplitter` (services/transcription/.../adapters/voices.py)
with its default options: pitch and mel cepstra of voiced frames pooled into 0.25 s
bins, the voices' axis found by a temporal discriminant analysis, two-means and a
Viterbi pass; no network model.

Corpus: the four scripted dialogues of `tests/support/call_scripts.py` (47-56 s
each), rendered to mono with espeak-ng (`tests/support/audio.py`) for every voice
pair below: two male/female, two male/male and two female/female pairs (different
espeak-ng voices, variants and pitches), and the pair the other tests use by
default (`en-us` / `en-gb+f5`): espeak-ng 1.51 ignores a variant after `en-gb`, so
its "female" customer is the en-gb male voice at a higher pitch, i.e. a
male/male pair that differs mainly in pitch. Plus one-speaker calls: each
dialogue read by one voice, four voices, to count second voices invented.

Pipeline, as the local provider runs it: the call is pushed in 5 s blocks through
the provider's streaming Silero VAD (`ChannelSpeech`, `VadSettings` defaults); each
60 s window it hands out goes to `splitter.add` with its speech spans; the
hypothesis is `splitter.turns()` (voiced speech by voice, pauses under 0.5 s
bridged).

Scores (tests/support/der.py): DER with a 0.25 s collar at every reference
boundary, hypothesis voices mapped one-to-one onto the two parties to agree most,
split into missed speech, false alarm and speaker confusion; pooled over calls by
seconds. "DER oracle speech": the splitter fed the reference turns as its speech
spans, and every instant of reference speech given the voice of the nearest
hypothesis turn; what remains is the clustering's error alone (confusion), with
voice-activity errors taken out. "first voice ok": the share of reference turns
whose first hypothesis turn (under the same mapping) has the right party: what a
reader of the transcript sees at each change of speaker (the turn's first 0.25 s
left out, as the collar is). "2 voices": calls in
which the splitter reported two voices.

Two harder conditions follow, per group of pairs: "telephone" (white noise at
20 dB SNR to the speech, then band-limited to 300-3400 Hz, as a phone line would)
and "quick turns" (0.15 s between turns instead of 0.5 s, rendered again).

Run: `.venv/bin/python bench/diarization.py [--main-only]`. Rendering and scoring
are deterministic; only the timing line varies.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from callscope_transcription.adapters.speech_windows import ChannelSpeech
from callscope_transcription.adapters.vad import VadSettings
from callscope_transcription.adapters.voices import SpectralVoiceSplitter, VoiceSplitOptions
from callscope_transcription.ports import SAMPLE_RATE, VoiceTurn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import Voice, read_wav, render_mono  # noqa: E402
from tests.support.call_scripts import SAMPLE_DIALOGUES  # noqa: E402
from tests.support.der import DiarizationError, LabelledSpan, diarization_error  # noqa: E402
from tests.support.dialogue import Dialogue  # noqa: E402

Samples = npt.NDArray[np.float32]

COLLAR_S = 0.25
WINDOW_S = 60.0  # the local provider's default window and block
BLOCK_S = 5.0
ORACLE_STEP_S = 0.01
QUICK_PAUSE_S = 0.15
TELEPHONE_SNR_DB = 20.0
TELEPHONE_BAND_HZ = (300.0, 3400.0)
NOISE_SEED = 7


@dataclass(frozen=True)
class Pair:
    """Two espeak-ng voices: the agent's and the customer's."""

    name: str
    group: str
    agent: Voice
    customer: Voice


US = Voice("en-us", 160, 40)
RP = Voice("en-gb-x-rp", 155, 45)
RP_LOW = Voice("en-gb-x-rp", 155, 35)
US_F2 = Voice("en-us+f2", 165, 55)
US_F3 = Voice("en-us+f3", 160, 55)
US_F5 = Voice("en-us+f5", 150, 60)
US_M3 = Voice("en-us+m3", 165, 50)
RP_F2 = Voice("en-gb-x-rp+f2", 160, 45)
RP_F4 = Voice("en-gb-x-rp+f4", 150, 70)
RP_F5 = Voice("en-gb-x-rp+f5", 150, 60)
RP_M3 = Voice("en-gb-x-rp+m3", 150, 55)
GB_F5 = Voice("en-gb+f5", 150, 60)  # the tests' default customer; renders the en-gb male voice

PAIRS = (
    Pair("en-us / en-gb-x-rp+f5", "male/female", US, RP_F5),
    Pair("en-gb-x-rp / en-us+f2", "male/female", RP, US_F2),
    Pair("en-us / en-gb-x-rp+m3", "male/male", US, RP_M3),
    Pair("en-gb-x-rp p35 / en-us+m3", "male/male", RP_LOW, US_M3),
    Pair("en-us+f5 / en-gb-x-rp+f2", "female/female", US_F5, RP_F2),
    Pair("en-us+f3 / en-gb-x-rp+f4", "female/female", US_F3, RP_F4),
    Pair("en-us / en-gb+f5 (default)", "pitch only", US, GB_F5),
)
ONE_SPEAKER = (US, US_F5, RP_M3, RP_F4)
GROUPS = ("male/female", "male/male", "female/female", "pitch only")


@dataclass(frozen=True)
class Call:
    """One rendered call: which pair read which dialogue, its samples and its true turns."""

    pair: str
    group: str
    dialogue: str
    samples: Samples
    turns: tuple[LabelledSpan, ...]


@dataclass(frozen=True)
class Scored:
    """What the splitter made of one call."""

    call: Call
    error: DiarizationError
    oracle: DiarizationError
    first_ok: int
    two_voices: bool
    splitter_seconds: float


def main() -> None:
    """Renders the corpus, runs the splitter as the provider does, prints the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--main-only", action="store_true", help="skip the harder conditions")
    arguments = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="callscope-diarization-") as folder:
        calls = _render_corpus(Path(folder) / "normal", pause_s=0.5)
        singles = _render_singles(Path(folder) / "single")
        _print_method(calls, singles)
        scored = [_score(call) for call in calls]
        single_scores = [_score(call) for call in singles]
        _print_main_table(scored, single_scores)
        if not arguments.main_only:
            telephone = [_score(_telephone(call)) for call in calls]
            telephone_singles = [_score(_telephone(call)) for call in singles]
            _print_condition("telephone band, 20 dB SNR", telephone, telephone_singles)
            quick = _render_corpus(Path(folder) / "quick", pause_s=QUICK_PAUSE_S)
            quick_singles = _render_singles(Path(folder) / "quick-single", pause_s=QUICK_PAUSE_S)
            _print_condition(
                f"quick turns ({QUICK_PAUSE_S:g} s between turns)",
                [_score(call) for call in quick],
                [_score(call) for call in quick_singles],
            )
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")


def _render_corpus(folder: Path, *, pause_s: float) -> list[Call]:
    return [
        _render(
            folder,
            dialogue,
            pair=pair.name,
            group=pair.group,
            agent=pair.agent,
            customer=pair.customer,
            pause_s=pause_s,
        )
        for pair in PAIRS
        for dialogue in SAMPLE_DIALOGUES
    ]


def _render_singles(folder: Path, *, pause_s: float = 0.5) -> list[Call]:
    return [
        _render(
            folder,
            dialogue,
            pair=voice.name,
            group="one speaker",
            agent=voice,
            customer=voice,
            pause_s=pause_s,
        )
        for voice in ONE_SPEAKER
        for dialogue in SAMPLE_DIALOGUES
    ]


def _render(
    folder: Path,
    dialogue: Dialogue,
    *,
    pair: str,
    group: str,
    agent: Voice,
    customer: Voice,
    pause_s: float,
) -> Call:
    # Anything but letters and digits becomes a dash: a file name from the pair's name.
    slug = re.sub(r"[^a-z0-9]+", "-", pair.lower()).strip("-")
    path = folder / f"{slug}-{dialogue.name}.wav"
    rendered = render_mono(
        dialogue, path, pause_s=pause_s, agent_voice=agent, customer_voice=customer
    )
    samples = read_wav(rendered.path)[0].astype(np.float32) / 32768.0
    one_party = group == "one speaker"
    turns = tuple(
        LabelledSpan("SPEAKER" if one_party else turn.party, turn.start, turn.end)
        for turn in rendered.turns
    )
    return Call(pair, group, dialogue.name, samples, turns)


def _telephone(call: Call) -> Call:
    """The call as a phone line gives it: noise at 20 dB SNR, then 300-3400 Hz only."""
    samples = call.samples.astype(np.float64)
    speech = samples[np.abs(samples) > 0.01]
    noise_rms = float(np.sqrt(np.mean(speech**2))) / 10 ** (TELEPHONE_SNR_DB / 20)
    generator = np.random.default_rng(NOISE_SEED)
    noisy = samples + generator.normal(0.0, noise_rms, samples.size)
    spectrum = np.fft.rfft(noisy)
    frequencies = np.fft.rfftfreq(samples.size, 1.0 / SAMPLE_RATE)
    low, high = TELEPHONE_BAND_HZ
    spectrum[(frequencies < low) | (frequencies > high)] = 0
    filtered = np.fft.irfft(spectrum, samples.size).astype(np.float32)
    return Call(call.pair, call.group, call.dialogue, filtered, call.turns)


def _score(call: Call) -> Scored:
    """Runs the splitter the provider's way and with oracle speech; scores both."""
    splitter, seconds = _split_as_provider(call.samples)
    hypothesis = _as_spans(splitter.turns())
    error = diarization_error(call.turns, hypothesis, collar=COLLAR_S)
    oracle_splitter = SpectralVoiceSplitter()
    _feed(oracle_splitter, call.samples, [(turn.start, turn.end) for turn in call.turns])
    oracle_hypothesis = _on_reference_speech(oracle_splitter.turns(), call.turns)
    oracle = diarization_error(call.turns, oracle_hypothesis, collar=COLLAR_S)
    return Scored(
        call=call,
        error=error,
        oracle=oracle,
        first_ok=_first_voice_correct(call.turns, hypothesis, error.mapping),
        two_voices=splitter.two_voices,
        splitter_seconds=seconds,
    )


def _split_as_provider(samples: Samples) -> tuple[SpectralVoiceSplitter, float]:
    """Streaming VAD in blocks; each window it settles goes to the splitter (timed alone)."""
    channel = ChannelSpeech(0, VadSettings(), window_samples=round(WINDOW_S * SAMPLE_RATE))
    splitter = SpectralVoiceSplitter()
    block = round(BLOCK_S * SAMPLE_RATE)
    busy = 0.0
    steps = [
        channel.push(samples[start : start + block]) for start in range(0, samples.size, block)
    ]
    steps.append(channel.finish())
    for step in steps:
        if step.window is None:
            continue
        window = step.window
        spans = [(start / SAMPLE_RATE, end / SAMPLE_RATE) for start, end in window.spans]
        began = time.perf_counter()
        splitter.add(window.samples, window.offset / SAMPLE_RATE, spans)
        busy += time.perf_counter() - began
    began = time.perf_counter()
    splitter.turns()
    busy += time.perf_counter() - began
    return splitter, busy


def _feed(
    splitter: SpectralVoiceSplitter, samples: Samples, spans: Sequence[tuple[float, float]]
) -> None:
    """The call in 60 s windows with the given speech spans cut to each window."""
    step = round(WINDOW_S * SAMPLE_RATE)
    for start in range(0, samples.size, step):
        end = min(start + step, samples.size)
        low, high = start / SAMPLE_RATE, end / SAMPLE_RATE
        inside = [(max(a, low), min(b, high)) for a, b in spans if b > low and a < high]
        splitter.add(samples[start:end], low, inside)


def _as_spans(turns: Sequence[VoiceTurn]) -> list[LabelledSpan]:
    return [LabelledSpan(str(turn.voice), turn.start, turn.end) for turn in turns]


def _on_reference_speech(
    turns: Sequence[VoiceTurn], reference: Sequence[LabelledSpan]
) -> list[LabelledSpan]:
    """Reference speech only, each 10 ms given the voice of the nearest hypothesis turn."""
    spans: list[LabelledSpan] = []
    for line in reference:
        times = np.arange(line.start, line.end, ORACLE_STEP_S)
        voices = [_nearest_voice(turns, float(t) + ORACLE_STEP_S / 2) for t in times]
        run_start = 0
        for position in range(1, len(voices) + 1):
            if position == len(voices) or voices[position] != voices[run_start]:
                end = min(line.end, float(times[position])) if position < len(voices) else line.end
                start = line.start if run_start == 0 else float(times[run_start])
                spans.append(LabelledSpan(str(voices[run_start]), start, end))
                run_start = position
    return spans


def _nearest_voice(turns: Sequence[VoiceTurn], moment: float) -> int:
    if not turns:
        return 0
    distances = [max(turn.start - moment, moment - turn.end, 0.0) for turn in turns]
    return turns[int(np.argmin(distances))].voice


def _first_voice_correct(
    reference: Sequence[LabelledSpan], hypothesis: Sequence[LabelledSpan], mapping: dict[str, str]
) -> int:
    """Reference turns whose first hypothesis turn maps to the right party.

    The turn's first collar is left out, as DER leaves it out: a hypothesis turn of
    the previous speaker that runs a bin into this one does not count as heard first.
    """
    correct = 0
    for line in reference:
        start = min(line.start + COLLAR_S, line.end)
        heard = [span for span in hypothesis if span.start < line.end and span.end > start]
        if heard and mapping.get(min(heard, key=lambda span: span.start).label) == line.label:
            correct += 1
    return correct


def _pooled(
    scores: Sequence[Scored], field: Callable[[Scored], DiarizationError]
) -> DiarizationError:
    total = DiarizationError(0.0, 0.0, 0.0, 0.0)
    for score in scores:
        total = total + field(score)
    return total


def _speech_minutes(calls: Sequence[Call]) -> float:
    return sum(turn.end - turn.start for call in calls for turn in call.turns) / 60


def _print_method(calls: Sequence[Call], singles: Sequence[Call]) -> None:
    options = VoiceSplitOptions()
    vad = VadSettings()
    print("Diarization of mono calls: SpectralVoiceSplitter (no network model)")
    print(
        f"  method: voiced frames ({options.frame_length} samples / {options.frame_hop} hop), "
        f"pitch + {options.cepstra} mel cepstra, {options.bin_seconds:g} s bins, "
        f"+-{options.context_bins} bins context,"
    )
    print(
        "          temporal discriminant axis, two-means + Viterbi, two voices if slowness >= "
        f"{options.min_slowness:g}x chance and smaller voice >= {options.min_voice_share:.0%}"
    )
    print(
        f"  pipeline: provider's streaming Silero VAD (min silence {vad.min_silence_ms} ms, "
        f"pad {vad.speech_pad_ms} ms), {BLOCK_S:g} s blocks, {WINDOW_S:g} s windows to add()"
    )
    print(
        f"  corpus: {len(calls)} two-voice calls ({len(PAIRS)} voice pairs x "
        f"{len(SAMPLE_DIALOGUES)} dialogues), {_speech_minutes(calls):.1f} min of speech; "
        f"{len(singles)} one-speaker calls, {_speech_minutes(singles):.1f} min"
    )
    print(f"  scoring: DER with {COLLAR_S:g} s collar, optimal voice-to-party mapping")


def _print_main_table(scored: Sequence[Scored], singles: Sequence[Scored]) -> None:
    header = (
        f"\n{'voice pair (agent / customer)':30} {'group':14} {'calls':>5} {'2 voices':>8} "
        f"{'DER':>6} {'missed':>6} {'FA':>6} {'conf':>6} {'DER oracle':>10} {'1st voice':>9}"
    )
    print(header)
    print("-" * (len(header) - 1))
    for pair in PAIRS:
        _print_row(pair.name, pair.group, [s for s in scored if s.call.pair == pair.name])
    print("-" * (len(header) - 1))
    for group in GROUPS:
        _print_row("all " + group, group, [s for s in scored if s.call.group == group])
    _print_row("all two-voice calls", "", scored)
    _print_singles(singles)
    seconds = sum(s.splitter_seconds for s in (*scored, *singles))
    audio = sum(s.call.samples.size for s in (*scored, *singles)) / SAMPLE_RATE
    print(
        f"splitter time (add + turns, VAD excluded): {seconds:.1f} s for {audio / 60:.1f} min "
        f"of audio, {audio / max(seconds, 1e-9):.0f}x real time"
    )


def _print_row(name: str, group: str, scores: Sequence[Scored]) -> None:
    error = _pooled(scores, lambda score: score.error)
    oracle = _pooled(scores, lambda score: score.oracle)
    turns = sum(len(score.call.turns) for score in scores)
    first = sum(score.first_ok for score in scores) / max(turns, 1)
    found = sum(score.two_voices for score in scores)
    print(
        f"{name:30} {group:14} {len(scores):5d} {found:4d}/{len(scores):<3d} "
        f"{error.rate:6.1%} {error.missed_rate:6.1%} {error.false_alarm_rate:6.1%} "
        f"{error.confusion_rate:6.1%} {oracle.rate:10.1%} {first:9.1%}"
    )


def _print_singles(singles: Sequence[Scored]) -> None:
    one = sum(not score.two_voices for score in singles)
    error = _pooled(singles, lambda score: score.error)
    print(
        f"one-speaker calls: {one}/{len(singles)} reported as one voice; DER {error.rate:.1%} "
        f"(confusion {error.confusion_rate:.1%}: speech given to an invented second voice)"
    )


def _print_condition(title: str, scored: Sequence[Scored], singles: Sequence[Scored]) -> None:
    print(f"\n{title}")
    for group in GROUPS:
        _print_row("  " + group, group, [s for s in scored if s.call.group == group])
    _print_row("  all two-voice calls", "", scored)
    _print_singles(singles)


if __name__ == "__main__":
    main()
