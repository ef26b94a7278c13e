"""Decoding real audio files with ffmpeg, whole and streamed: channels, rate, formats, refusals."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from callscope_transcription.adapters.audio import FfmpegAudioDecoder
from callscope_transcription.adapters.audio_stream import FfmpegAudioStream
from callscope_transcription.domain.errors import (
    NO_AUDIO_STREAM_REASON,
    UNDECODABLE_AUDIO_REASON,
    UndecodableAudioError,
)
from callscope_transcription.ports import SAMPLE_RATE, DecodedAudio

from tests.support.audio import (
    RenderedAudio,
    Turn,
    convert,
    read_wav,
    render_silence,
    write_wav,
)

pytestmark = pytest.mark.unit


def _energy(samples: np.ndarray, turn: Turn) -> float:
    window = samples[round(turn.start * SAMPLE_RATE) : round(turn.end * SAMPLE_RATE)]
    return float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))


def _assert_parties_on_their_sides(audio: DecodedAudio, rendered: RenderedAudio) -> None:
    left, right = audio.channels
    for turn in rendered.turns:
        speaking, quiet = (left, right) if turn.party == "AGENT" else (right, left)
        assert _energy(speaking, turn) > 0.02, turn
        assert _energy(quiet, turn) < 0.002, turn


def test_stereo_wav_decodes_to_two_16khz_channels(
    decoder: FfmpegAudioDecoder, short_stereo: RenderedAudio
) -> None:
    audio = decoder.decode(short_stereo.path)

    assert audio.sample_rate == SAMPLE_RATE
    assert len(audio.channels) == 2
    assert all(channel.dtype == np.float32 for channel in audio.channels)
    assert audio.duration_seconds == pytest.approx(short_stereo.duration, abs=0.01)
    assert short_stereo.duration >= 12.0
    _assert_parties_on_their_sides(audio, short_stereo)


def test_decoded_samples_match_the_wav_samples(
    decoder: FfmpegAudioDecoder, short_stereo: RenderedAudio
) -> None:
    audio = decoder.decode(short_stereo.path)
    left, _ = read_wav(short_stereo.path)
    np.testing.assert_allclose(audio.channels[0], left / 32768.0, atol=1e-6)


def test_mono_wav_decodes_to_one_channel(
    decoder: FfmpegAudioDecoder, short_mono: RenderedAudio
) -> None:
    audio = decoder.decode(short_mono.path)
    assert len(audio.channels) == 1
    assert audio.duration_seconds == pytest.approx(short_mono.duration, abs=0.01)
    assert not audio.is_silent(0)


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "m4a", "flac", "webm"])
def test_compressed_stereo_keeps_each_party_on_its_side(
    decoder: FfmpegAudioDecoder, short_stereo: RenderedAudio, tmp_path: Path, fmt: str
) -> None:
    encoded = convert(short_stereo.path, fmt, tmp_path / f"call.{fmt}")  # type: ignore[arg-type]

    audio = decoder.decode(encoded)

    assert len(audio.channels) == 2
    # Encoders add priming samples and round the length up to whole frames.
    assert audio.duration_seconds == pytest.approx(short_stereo.duration, abs=0.1)
    _assert_parties_on_their_sides(audio, short_stereo)


def test_resamples_other_rates_to_16khz(decoder: FfmpegAudioDecoder, tmp_path: Path) -> None:
    source = tmp_path / "tone-44k.wav"
    seconds = np.arange(44_100 * 2) / 44_100
    tone = (np.sin(2 * np.pi * 440 * seconds) * 10_000).astype(np.int16)
    write_wav(source, [tone], 44_100)

    audio = decoder.decode(source)

    assert audio.sample_rate == SAMPLE_RATE
    assert audio.channels[0].size == pytest.approx(2 * SAMPLE_RATE, abs=32)


def test_stereo_with_the_same_signal_on_both_sides_is_mono(
    decoder: FfmpegAudioDecoder, short_mono: RenderedAudio, tmp_path: Path
) -> None:
    (samples,) = read_wav(short_mono.path)
    doubled = tmp_path / "dual-mono.wav"
    write_wav(doubled, [samples, samples], SAMPLE_RATE)

    audio = decoder.decode(doubled)

    assert len(audio.channels) == 1


def test_more_than_two_channels_are_mixed_to_one(
    decoder: FfmpegAudioDecoder, short_stereo: RenderedAudio, tmp_path: Path
) -> None:
    left, right = read_wav(short_stereo.path)
    surround = tmp_path / "four-channels.wav"
    write_wav(surround, [left, right, left, right], SAMPLE_RATE)

    audio = decoder.decode(surround)

    assert len(audio.channels) == 1
    assert not audio.is_silent(0)


def test_silence_is_decoded_and_reported_silent(
    decoder: FfmpegAudioDecoder, tmp_path: Path
) -> None:
    audio = decoder.decode(render_silence(tmp_path / "silence.wav", 12.0, channels=2))
    assert len(audio.channels) == 1  # two identical silent sides are one channel
    assert audio.is_silent(0)
    assert audio.duration_seconds == pytest.approx(12.0)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"this is not audio at all, just text in a file called call.mp3\n" * 20,
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\xff" * 64,
    ],
    ids=["empty", "text", "broken-wav-header"],
)
def test_undecodable_files_are_refused_with_a_reason(
    decoder: FfmpegAudioDecoder, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "call.mp3"
    path.write_bytes(content)

    with pytest.raises(UndecodableAudioError) as refused:
        decoder.decode(path)

    assert refused.value.reason == UNDECODABLE_AUDIO_REASON


def test_truncated_mp3_decodes_what_is_there(
    decoder: FfmpegAudioDecoder, short_stereo: RenderedAudio, tmp_path: Path
) -> None:
    encoded = convert(short_stereo.path, "mp3", tmp_path / "call.mp3").read_bytes()
    truncated = tmp_path / "truncated.mp3"
    truncated.write_bytes(encoded[: len(encoded) // 2])

    audio = decoder.decode(truncated)

    assert audio.duration_seconds == pytest.approx(short_stereo.duration / 2, abs=1.0)


def test_a_video_without_sound_is_refused_as_having_no_audio_track(
    decoder: FfmpegAudioDecoder, tmp_path: Path
) -> None:
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
        decoder.decode(video)

    assert refused.value.reason == NO_AUDIO_STREAM_REASON


# Streaming: FfmpegAudioStream, what the local provider decodes with.

STREAM = FfmpegAudioStream()


def _streamed(path: Path, channels: int, block_samples: int) -> list[np.ndarray]:
    blocks = list(STREAM.blocks(path, channels=channels, block_samples=block_samples))
    assert all(block.shape[0] == channels for block in blocks)
    assert all(block.shape[1] == block_samples for block in blocks[:-1])
    return [np.concatenate([block[c] for block in blocks]) for c in range(channels)]


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_streamed_blocks_join_into_the_whole_decode(
    decoder: FfmpegAudioDecoder, short_stereo: RenderedAudio, tmp_path: Path, fmt: str
) -> None:
    path = convert(short_stereo.path, fmt, tmp_path / f"call.{fmt}")  # type: ignore[arg-type]

    left, right = _streamed(path, 2, block_samples=12_345)

    whole = decoder.decode(path)
    np.testing.assert_array_equal(left, whole.channels[0])
    np.testing.assert_array_equal(right, whole.channels[1])


def test_a_stream_of_a_stereo_file_can_be_read_as_mono(short_stereo: RenderedAudio) -> None:
    (mixed,) = _streamed(short_stereo.path, 1, block_samples=SAMPLE_RATE)

    assert mixed.size == pytest.approx(short_stereo.duration * SAMPLE_RATE, abs=1)


def test_closing_a_stream_early_stops_ffmpeg(short_stereo: RenderedAudio) -> None:
    blocks = STREAM.blocks(short_stereo.path, channels=2, block_samples=1_000)
    first = next(blocks)
    blocks.close()

    assert first.shape == (2, 1_000)
    # Nothing of ffmpeg is left: its pipe is closed and the generator is done.
    with pytest.raises(StopIteration):
        next(blocks)


@pytest.mark.parametrize(
    "content",
    [b"", b"not audio\n" * 50, b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\xff" * 64],
    ids=["empty", "text", "broken-wav-header"],
)
def test_a_stream_of_what_is_not_audio_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(content)

    with pytest.raises(UndecodableAudioError) as refused:
        list(STREAM.blocks(path, channels=1, block_samples=SAMPLE_RATE))

    assert refused.value.reason == UNDECODABLE_AUDIO_REASON
