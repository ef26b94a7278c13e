"""The local provider with the real tiny.en model on short rendered calls: voices, layouts, errors.

Every call here lasts 17 seconds or less, so the module costs a few seconds of model time.
"""

from __future__ import annotations

import itertools
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from callscope_transcription.adapters.local_provider import LocalOptions, LocalWhisperProvider
from callscope_transcription.adapters.speech_feed import FeedStoppedError
from callscope_transcription.adapters.vad import VadSettings
from callscope_transcription.adapters.whisper import LoadedModel
from callscope_transcription.domain.errors import (
    NO_AUDIO_STREAM_REASON,
    SILENT_AUDIO_REASON,
    UNDECODABLE_AUDIO_REASON,
    SilentAudioError,
    UndecodableAudioError,
)
from callscope_transcription.domain.model import Layout, Utterance, Word
from callscope_transcription.ports import SAMPLE_RATE, Hearing, ProviderRequest, Samples

from tests.support.audio import (
    RenderedAudio,
    Turn,
    read_wav,
    render_mono,
    render_noise,
    render_silence,
    write_wav,
)
from tests.support.call_scripts import SHORT_GREETING
from tests.support.dialogue import Party
from tests.support.wer import word_errors

pytestmark = pytest.mark.unit

WER_LIMIT = 0.15


def _request(path: Path, layout: Layout) -> ProviderRequest:
    return ProviderRequest(path=path, layout=layout, duration_seconds=0.0)


def _text(hearing: Hearing, voice: int | None = None) -> str:
    return " ".join(u.text for u in hearing.utterances if voice is None or u.voice == voice)


def _turn_of(word: Word, turns: Sequence[Turn]) -> Turn:
    """The scripted turn a recognised word falls in (the nearest one, for edge words)."""
    middle = (word.start + word.end) / 2
    return min(turns, key=lambda turn: max(turn.start - middle, middle - turn.end, 0.0))


def _voices_by_party(hearing: Hearing, turns: Sequence[Turn]) -> dict[str, set[int]]:
    heard: dict[str, set[int]] = {}
    for utterance in hearing.utterances:
        for word in utterance.words:
            heard.setdefault(_turn_of(word, turns).party, set()).add(utterance.voice)
    return heard


async def test_stereo_gives_each_channel_its_voice(
    local_provider: LocalWhisperProvider, short_stereo: RenderedAudio
) -> None:
    hearing = await local_provider.transcribe(_request(short_stereo.path, Layout.STEREO))

    assert hearing.layout is Layout.STEREO
    assert hearing.voices_split
    assert (hearing.language, hearing.model) == ("en", "tiny.en")
    assert hearing.duration_seconds == pytest.approx(short_stereo.duration, abs=0.01)
    assert _voices_by_party(hearing, short_stereo.turns) == {"AGENT": {0}, "CUSTOMER": {1}}
    assert word_errors(SHORT_GREETING.reference_text(), _text(hearing)).rate <= WER_LIMIT
    parties: tuple[tuple[Party, int], ...] = (("AGENT", 0), ("CUSTOMER", 1))
    for party, voice in parties:
        errors = word_errors(SHORT_GREETING.reference_text(party), _text(hearing, voice))
        assert errors.rate <= WER_LIMIT, party
    starts = [utterance.start for utterance in hearing.utterances]
    assert starts == sorted(starts)
    for utterance in hearing.utterances:
        assert utterance.words
        assert utterance.start == utterance.words[0].start
        assert utterance.end == utterance.words[-1].end
        assert all(0 <= w.start <= w.end <= short_stereo.duration for w in utterance.words)


async def test_an_agent_on_the_right_channel_is_voice_1(
    local_provider: LocalWhisperProvider, short_stereo: RenderedAudio, tmp_path: Path
) -> None:
    left, right = read_wav(short_stereo.path)
    swapped = tmp_path / "agent-right.wav"
    write_wav(swapped, [right, left], SAMPLE_RATE)

    hearing = await local_provider.transcribe(_request(swapped, Layout.STEREO))

    assert _voices_by_party(hearing, short_stereo.turns) == {"AGENT": {1}, "CUSTOMER": {0}}


async def test_a_silent_channel_is_skipped(
    local_provider: LocalWhisperProvider, short_mono: RenderedAudio, tmp_path: Path
) -> None:
    (both,) = read_wav(short_mono.path)
    one_sided = tmp_path / "right-silent.wav"
    write_wav(one_sided, [both, np.zeros_like(both)], SAMPLE_RATE)

    hearing = await local_provider.transcribe(_request(one_sided, Layout.STEREO))

    assert hearing.layout is Layout.STEREO
    assert {utterance.voice for utterance in hearing.utterances} == {0}
    assert word_errors(SHORT_GREETING.reference_text(), _text(hearing)).rate <= WER_LIMIT


async def test_stereo_with_one_signal_on_both_channels_is_heard_as_mono(
    local_provider: LocalWhisperProvider, short_mono: RenderedAudio, tmp_path: Path
) -> None:
    (both,) = read_wav(short_mono.path)
    doubled = tmp_path / "dual-mono.wav"
    write_wav(doubled, [both, both.copy()], SAMPLE_RATE)

    hearing = await local_provider.transcribe(_request(doubled, Layout.STEREO))

    assert hearing.layout is Layout.MONO
    assert not hearing.voices_split
    assert {utterance.voice for utterance in hearing.utterances} == {0}
    # Each word once, not once per channel.
    assert word_errors(SHORT_GREETING.reference_text(), _text(hearing)).rate <= WER_LIMIT


async def test_a_prompt_on_both_sides_before_the_parties_speak_keeps_the_call_stereo(
    local_provider: LocalWhisperProvider, short_stereo: RenderedAudio, tmp_path: Path
) -> None:
    left, right = read_wav(short_stereo.path)
    first = short_stereo.turns[0]
    prompt = left[round(first.start * SAMPLE_RATE) : round(first.end * SAMPLE_RATE)]
    gap = np.zeros(SAMPLE_RATE, dtype=np.int16)
    announced = tmp_path / "announced-stereo.wav"
    write_wav(
        announced,
        [np.concatenate((prompt, gap, left)), np.concatenate((prompt, gap, right))],
        16_000,
    )

    hearing = await local_provider.transcribe(_request(announced, Layout.STEREO))

    assert hearing.layout is Layout.STEREO
    shift = (prompt.size + gap.size) / SAMPLE_RATE
    turns = [
        replace(turn, start=turn.start + shift, end=turn.end + shift) for turn in short_stereo.turns
    ]
    after_prompt = replace(
        hearing, utterances=tuple(u for u in hearing.utterances if u.start >= shift - 0.2)
    )
    assert _voices_by_party(after_prompt, turns) == {"AGENT": {0}, "CUSTOMER": {1}}
    # The prompt was on both sides, so both heard it.
    assert {u.voice for u in hearing.utterances if u.end <= shift} == {0, 1}


@pytest.mark.parametrize("layout", [Layout.STEREO, Layout.MONO])
async def test_digital_silence_is_silent_audio(
    local_provider: LocalWhisperProvider, tmp_path: Path, layout: Layout
) -> None:
    channels = 2 if layout is Layout.STEREO else 1
    silence = render_silence(tmp_path / "silence.wav", 8.0, channels=channels)

    with pytest.raises(SilentAudioError) as silent:
        await local_provider.transcribe(_request(silence, layout))

    assert silent.value.reason == SILENT_AUDIO_REASON


async def test_noise_without_speech_is_silent_audio(
    local_provider: LocalWhisperProvider, tmp_path: Path
) -> None:
    noise = render_noise(tmp_path / "noise.wav", 8.0, level=0.05, channels=2)

    with pytest.raises(SilentAudioError):
        await local_provider.transcribe(_request(noise, Layout.STEREO))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"this is not audio at all, just text in a file called call.mp3\n" * 20,
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\xff" * 64,
    ],
    ids=["empty", "text", "broken-wav-header"],
)
async def test_files_that_are_not_audio_are_undecodable(
    local_provider: LocalWhisperProvider, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "call.mp3"
    path.write_bytes(content)

    with pytest.raises(UndecodableAudioError) as refused:
        await local_provider.transcribe(_request(path, Layout.STEREO))

    assert refused.value.reason == UNDECODABLE_AUDIO_REASON


def test_a_video_without_sound_has_no_audio_track(
    local_provider: LocalWhisperProvider, tmp_path: Path
) -> None:
    video = tmp_path / "screen.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i"),
            *("color=c=black:s=64x64:d=1", "-c:v", "mpeg4", str(video)),
        ],
        check=True,
        capture_output=True,
    )

    with pytest.raises(UndecodableAudioError) as refused:
        local_provider.hear(_request(video, Layout.MONO))

    assert refused.value.reason == NO_AUDIO_STREAM_REASON


@pytest.mark.parametrize("layout", [Layout.STEREO, Layout.MONO])
async def test_small_windows_hear_the_same_words_as_one_window(
    whisper_model: LoadedModel,
    local_provider: LocalWhisperProvider,
    short_stereo: RenderedAudio,
    short_mono: RenderedAudio,
    layout: Layout,
) -> None:
    rendered = short_stereo if layout is Layout.STEREO else short_mono
    windowed = LocalWhisperProvider(whisper_model, options=LocalOptions(window_s=3.0, block_s=0.5))

    whole = await local_provider.transcribe(_request(rendered.path, layout))
    cut = await windowed.transcribe(_request(rendered.path, layout))

    assert cut.settings["window_s"] == "3"
    assert _words(cut) == _words(whole)
    assert _word_times(cut) == pytest.approx(_word_times(whole), abs=0.1)


class _ScriptedSplitter:
    """A VoiceSplitter that knows who spoke when: voice 0 for the opening party."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self._turns = turns
        self.windows: list[tuple[float, float]] = []
        self.spans: list[tuple[float, float]] = []

    def add(self, samples: Samples, offset_s: float, spans: Sequence[tuple[float, float]]) -> None:
        """Records the window and its speech."""
        self.windows.append((offset_s, offset_s + samples.size / SAMPLE_RATE))
        self.spans.extend(spans)

    def label(self, utterances: Sequence[Utterance]) -> tuple[tuple[Utterance, ...], bool]:
        """Each word takes the voice of its scripted turn; utterances split where it changes."""
        opening = self._turns[0].party
        labelled: list[Utterance] = []
        for utterance in utterances:
            for word in utterance.words:
                voice = 0 if _turn_of(word, self._turns).party == opening else 1
                last = labelled[-1] if labelled else None
                if last is not None and last.voice == voice and last.end <= word.start:
                    text = f"{last.text} {word.text}"
                    labelled[-1] = replace(last, end=word.end, text=text, words=(*last.words, word))
                else:
                    labelled.append(Utterance(word.start, word.end, word.text, (word,), voice))
        return tuple(labelled), True


@pytest.fixture(scope="module")
def spaced_mono(audio_dir: Path) -> RenderedAudio:
    """The short call in mono with 1.5-s pauses: VAD ends a span at each pause."""
    return render_mono(SHORT_GREETING, audio_dir / "spaced-mono.wav", pause_s=1.5)


async def test_a_mono_call_is_fed_to_the_splitter_window_by_window_and_gets_its_voices(
    whisper_model: LoadedModel, spaced_mono: RenderedAudio
) -> None:
    splitter = _ScriptedSplitter(spaced_mono.turns)
    provider = LocalWhisperProvider(
        whisper_model,
        options=LocalOptions(window_s=4.0, block_s=1.0),
        voice_splitter=lambda: splitter,
    )

    hearing = await provider.transcribe(_request(spaced_mono.path, Layout.MONO))

    assert hearing.layout is Layout.MONO
    assert hearing.voices_split
    assert _voices_by_party(hearing, spaced_mono.turns) == {"AGENT": {0}, "CUSTOMER": {1}}
    # The windows cover the call end to end, once; the speech spans lie inside them.
    assert len(splitter.windows) >= 3
    assert splitter.windows[0][0] == 0.0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(splitter.windows))
    assert splitter.windows[-1][1] == pytest.approx(spaced_mono.duration, abs=0.01)
    assert all(
        any(start <= s < e <= end for start, end in splitter.windows) for s, e in splitter.spans
    )
    for turn in spaced_mono.turns:
        assert any(s <= turn.start and turn.end <= e for s, e in splitter.spans), turn


async def test_without_a_splitter_a_mono_call_is_one_voice(
    local_provider: LocalWhisperProvider, short_mono: RenderedAudio
) -> None:
    hearing = await local_provider.transcribe(_request(short_mono.path, Layout.MONO))

    assert (hearing.layout, hearing.voices_split) == (Layout.MONO, False)
    assert {utterance.voice for utterance in hearing.utterances} == {0}
    assert word_errors(SHORT_GREETING.reference_text(), _text(hearing)).rate <= WER_LIMIT


def test_settings_record_the_options_used(whisper_model: LoadedModel) -> None:
    options = LocalOptions(beam_size=3, batch_size=2, vad=VadSettings(speech_pad_ms=250))

    settings = LocalWhisperProvider(whisper_model, options=options).settings

    assert settings == {
        "model": "tiny.en",
        "device": "cpu",
        "compute_type": "int8",
        "cpu_threads": str(whisper_model.cpu_threads),
        "num_workers": "2",
        "engine": settings["engine"],
        "beam_size": "3",
        "batch_size": "2",
        "word_timestamps": "true",
        "chunk_s": "30",
        "window_s": "60",
        "stereo_chunks": "per_channel",
        "vad": "silero",
        "vad_threshold": "0.5",
        "vad_min_silence_ms": "500",
        "vad_speech_pad_ms": "250",
        "vad_max_speech_s": "29",
    }
    assert settings["engine"].startswith("faster-whisper 1.2.1")


async def test_every_hearing_carries_the_settings(
    local_provider: LocalWhisperProvider, short_mono: RenderedAudio
) -> None:
    hearing = await local_provider.transcribe(_request(short_mono.path, Layout.MONO))

    assert dict(hearing.settings) == dict(local_provider.settings)
    assert hearing.settings["beam_size"] == "5"


def test_a_stopped_call_ends_at_its_next_batch(
    whisper_model: LoadedModel, short_stereo: RenderedAudio
) -> None:
    provider = LocalWhisperProvider(whisper_model, options=LocalOptions(batch_size=1))
    stop = threading.Event()
    stop.set()

    with pytest.raises(FeedStoppedError):
        provider.hear(_request(short_stereo.path, Layout.STEREO), stop=stop)


def _words(hearing: Hearing) -> list[tuple[int, str]]:
    return [(u.voice, w.text) for u in hearing.utterances for w in u.words]


def _word_times(hearing: Hearing) -> list[float]:
    return [t for u in hearing.utterances for w in u.words for t in (w.start, w.end)]
