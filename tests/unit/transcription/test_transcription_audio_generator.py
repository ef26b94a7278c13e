"""The test-audio generator: deterministic two-voice calls with known turn timings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support.audio import (
    AGENT_VOICE,
    CUSTOMER_VOICE,
    SAMPLE_RATE,
    RenderedAudio,
    convert,
    read_wav,
    render_mono,
    render_stereo,
)
from tests.support.call_scripts import SAMPLE_DIALOGUES, SHORT_GREETING
from tests.support.dialogue import Dialogue

pytestmark = pytest.mark.unit


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def test_stereo_puts_each_party_on_its_own_side_at_the_reported_times(
    short_stereo: RenderedAudio,
) -> None:
    left, right = read_wav(short_stereo.path)

    assert short_stereo.channels == 2
    assert left.size == right.size == round(short_stereo.duration * SAMPLE_RATE)
    assert [turn.party for turn in short_stereo.turns] == [
        line.party for line in SHORT_GREETING.lines
    ]
    for turn in short_stereo.turns:
        window = slice(round(turn.start * SAMPLE_RATE), round(turn.end * SAMPLE_RATE))
        speaking, quiet = (left, right) if turn.party == "AGENT" else (right, left)
        assert _rms(speaking[window]) > 500
        assert not quiet[window].any()
    # Turns follow each other with a pause, never overlapping.
    for earlier, later in zip(short_stereo.turns, short_stereo.turns[1:], strict=False):
        assert later.start - earlier.end == pytest.approx(0.5, abs=1e-3)


def test_mono_holds_both_parties_in_one_channel(
    short_mono: RenderedAudio, short_stereo: RenderedAudio
) -> None:
    (mixed,) = read_wav(short_mono.path)
    left, right = read_wav(short_stereo.path)

    assert short_mono.channels == 1
    assert short_mono.turns == short_stereo.turns
    np.testing.assert_array_equal(mixed, left + right)


def test_rendering_is_deterministic(short_stereo: RenderedAudio, tmp_path: Path) -> None:
    again = render_stereo(SHORT_GREETING, tmp_path / "again.wav")
    assert again.path.read_bytes() == short_stereo.path.read_bytes()
    assert again.turns == short_stereo.turns


def test_the_two_voices_differ() -> None:
    assert AGENT_VOICE.name != CUSTOMER_VOICE.name
    assert AGENT_VOICE.pitch != CUSTOMER_VOICE.pitch


@pytest.mark.parametrize("dialogue", [*SAMPLE_DIALOGUES, SHORT_GREETING], ids=lambda d: d.name)
def test_every_scripted_call_is_longer_than_the_minimum_duration(
    dialogue: Dialogue, tmp_path: Path
) -> None:
    rendered = render_mono(dialogue, tmp_path / "call.wav")
    assert rendered.duration >= 12.0


@pytest.mark.parametrize(
    ("fmt", "codec"),
    [("mp3", "mp3"), ("ogg", "vorbis"), ("m4a", "aac"), ("flac", "flac"), ("webm", "opus")],
)
def test_convert_re_encodes_keeping_both_channels(
    short_stereo: RenderedAudio, tmp_path: Path, fmt: str, codec: str
) -> None:
    encoded = convert(short_stereo.path, fmt, tmp_path / f"call.{fmt}")  # type: ignore[arg-type]

    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(encoded)],
        check=True,
        capture_output=True,
    )
    (stream,) = json.loads(probe.stdout)["streams"]
    assert (stream["codec_name"], stream["channels"]) == (codec, 2)


def test_a_dialogue_without_lines_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no lines"):
        render_stereo(Dialogue("empty", ()), tmp_path / "x.wav")
