"""ffprobe reads the layout the handler gives providers: stereo (two parties) or mono."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from callscope_transcription.adapters.probe import FfmpegProber
from callscope_transcription.domain.errors import NO_AUDIO_STREAM_REASON, UndecodableAudioError
from callscope_transcription.domain.model import Layout

from tests.support.audio import RenderedAudio, convert, read_wav, write_wav

pytestmark = pytest.mark.unit

PROBER = FfmpegProber()


def test_a_two_party_stereo_call_is_stereo(short_stereo: RenderedAudio) -> None:
    info = PROBER.probe(short_stereo.path)

    assert (info.channels, info.codec, info.layout) == (2, "pcm_s16le", Layout.STEREO)
    assert not info.same_signal_on_both_channels
    assert info.duration_seconds == pytest.approx(short_stereo.duration, abs=0.01)


def test_a_mono_call_is_mono(short_mono: RenderedAudio) -> None:
    info = PROBER.probe(convert(short_mono.path, "mp3"))

    assert (info.channels, info.codec, info.layout) == (1, "mp3", Layout.MONO)
    assert info.duration_seconds == pytest.approx(short_mono.duration, abs=0.1)


def test_one_signal_on_both_channels_is_mono(short_mono: RenderedAudio, tmp_path: Path) -> None:
    (samples,) = read_wav(short_mono.path)
    doubled = tmp_path / "doubled.wav"
    write_wav(doubled, [samples, samples.copy()], 16_000)

    info = PROBER.probe(convert(doubled, "m4a"))

    assert info.channels == 2
    assert info.same_signal_on_both_channels
    assert info.layout is Layout.MONO


def test_a_quiet_second_party_is_still_a_different_signal(
    short_mono: RenderedAudio, tmp_path: Path
) -> None:
    (samples,) = read_wav(short_mono.path)
    quiet = np.zeros_like(samples)
    quiet[: samples.size // 10] = samples[: samples.size // 10] // 8
    stereo = tmp_path / "stereo.wav"
    write_wav(stereo, [samples, quiet], 16_000)

    assert PROBER.probe(stereo).layout is Layout.STEREO


def test_bytes_that_are_not_audio_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "call.wav"
    fake.write_bytes(b"RIFF" + b"\x00" * 2000)

    with pytest.raises(UndecodableAudioError):
        PROBER.probe(fake)


def test_a_video_without_sound_is_refused_as_having_no_audio_track(tmp_path: Path) -> None:
    video = tmp_path / "screen.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x64:d=1",
            "-c:v",
            "mpeg4",
            str(video),
        ],
        check=True,
        capture_output=True,
    )

    with pytest.raises(UndecodableAudioError) as refused:
        PROBER.probe(video)

    assert refused.value.reason == NO_AUDIO_STREAM_REASON
