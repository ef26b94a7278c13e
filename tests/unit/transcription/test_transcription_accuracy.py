"""Measured accuracy of the local provider (tiny.en) on scripted call-centre dialogues.

Four scripted calls (greeting with a company name, identity verification, the
issue, the closing; 47-54 s each) are rendered with two espeak-ng voices and heard
by `LocalWhisperProvider` with its default options and the real model. Measured on
a 2-core machine (rendering and decoding are deterministic, so the figures repeat
run to run; another CPU's kernels may move them by a word or two):

    stereo: overall WER 4.75 % (2.65, 6.04, 5.51, 4.96 % per dialogue), 100.0 % of
            words under the right voice
    mono:   overall WER 5.81 % (6.62, 6.04, 5.51, 4.96 % per dialogue)

The limits sit a little above that: 8 % overall, 12 % for any one dialogue, and
97 % of words under the right voice. The test prints the figures and the speed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from callscope_transcription.adapters.local_provider import LocalWhisperProvider
from callscope_transcription.domain.model import Layout
from callscope_transcription.ports import Hearing, ProviderRequest

from tests.support.audio import RenderedAudio, render_mono, render_stereo
from tests.support.call_scripts import SAMPLE_DIALOGUES
from tests.support.dialogue import Dialogue, Party
from tests.support.wer import WerResult, word_errors

pytestmark = pytest.mark.unit

OVERALL_WER_LIMIT = 0.08
DIALOGUE_WER_LIMIT = 0.12
VOICE_ACCURACY_FLOOR = 0.97
CHANNEL_OF: dict[Party, int] = {"AGENT": 0, "CUSTOMER": 1}


@dataclass(frozen=True)
class Measured:
    """One dialogue's hearing and what it took."""

    dialogue: Dialogue
    rendered: RenderedAudio
    hearing: Hearing
    wall_seconds: float


def _measure(
    provider: LocalWhisperProvider, rendered: list[RenderedAudio], layout: Layout
) -> list[Measured]:
    measured = []
    for dialogue, call in zip(SAMPLE_DIALOGUES, rendered, strict=True):
        started = time.perf_counter()
        hearing = provider.hear(ProviderRequest(call.path, layout, call.duration))
        measured.append(Measured(dialogue, call, hearing, time.perf_counter() - started))
    return measured


def _report(title: str, rows: list[tuple[str, WerResult]], measured: list[Measured]) -> str:
    audio_s = sum(m.rendered.duration for m in measured)
    wall_s = sum(m.wall_seconds for m in measured)
    overall = sum((result for _, result in rows), WerResult(0, 0))
    lines = [f"{title}: overall WER {overall.rate:.2%} over {overall.reference_words} words"]
    lines += [f"  {name}: WER {result.rate:.2%}" for name, result in rows]
    lines.append(
        f"  speed: {audio_s:.0f} s of audio in {wall_s:.1f} s = {audio_s / wall_s:.1f}x real time"
    )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def dialogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dialogues")


def test_stereo_calls_are_heard_accurately_under_the_right_voices(
    local_provider: LocalWhisperProvider,
    dialogue_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rendered = [render_stereo(d, dialogue_dir / f"{d.name}.wav") for d in SAMPLE_DIALOGUES]

    measured = _measure(local_provider, rendered, Layout.STEREO)

    rows = [
        (m.dialogue.name, word_errors(m.dialogue.reference_text(), _text(m.hearing)))
        for m in measured
    ]
    party_errors = sum(
        (
            word_errors(m.dialogue.reference_text(party), _text(m.hearing, CHANNEL_OF[party]))
            for m in measured
            for party in CHANNEL_OF
        ),
        WerResult(0, 0),
    )
    with capsys.disabled():
        print("\n" + _report("stereo", rows, measured))
        print(f"  per-party WER (voices checked): {party_errors.rate:.2%}")
        print(f"  words under the right voice: {_voice_accuracy(measured):.1%}")

    assert all(m.hearing.layout is Layout.STEREO for m in measured)
    assert sum((r for _, r in rows), WerResult(0, 0)).rate <= OVERALL_WER_LIMIT
    assert all(result.rate <= DIALOGUE_WER_LIMIT for _, result in rows), rows
    # Text under the wrong voice would count as errors twice here.
    assert party_errors.rate <= OVERALL_WER_LIMIT
    assert _voice_accuracy(measured) >= VOICE_ACCURACY_FLOOR


def test_mono_calls_are_heard_accurately(
    local_provider: LocalWhisperProvider,
    dialogue_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rendered = [render_mono(d, dialogue_dir / f"{d.name}-mono.wav") for d in SAMPLE_DIALOGUES]

    measured = _measure(local_provider, rendered, Layout.MONO)

    rows = [
        (m.dialogue.name, word_errors(m.dialogue.reference_text(), _text(m.hearing)))
        for m in measured
    ]
    with capsys.disabled():
        print("\n" + _report("mono", rows, measured))

    assert all(m.hearing.layout is Layout.MONO for m in measured)
    assert sum((r for _, r in rows), WerResult(0, 0)).rate <= OVERALL_WER_LIMIT
    assert all(result.rate <= DIALOGUE_WER_LIMIT for _, result in rows), rows


def _text(hearing: Hearing, voice: int | None = None) -> str:
    return " ".join(u.text for u in hearing.utterances if voice is None or u.voice == voice)


def _voice_accuracy(measured: list[Measured]) -> float:
    """The share of recognised words under the channel of the party whose turn they fall in."""
    right = total = 0
    for m in measured:
        for utterance in m.hearing.utterances:
            for word in utterance.words:
                middle = (word.start + word.end) / 2
                turn = min(
                    m.rendered.turns,
                    key=lambda turn: max(turn.start - middle, middle - turn.end, 0.0),
                )
                total += 1
                right += CHANNEL_OF[turn.party] == utterance.voice
    return right / total if total else 0.0
