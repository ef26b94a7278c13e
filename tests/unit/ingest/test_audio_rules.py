"""The product guide's audio rules, applied to probe results."""

from __future__ import annotations

import pytest
from callscope_ingest.domain.audio_rules import AudioLimits, ProbeResult, accept_audio, check_size
from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError

LIMITS = AudioLimits()


def probe(**changes: object) -> ProbeResult:
    values: dict[str, object] = {
        "container": "mp3",
        "audio_codec": "mp3",
        "channels": 2,
        "sample_rate": 16000,
        "duration_s": 60.0,
    }
    values.update(changes)
    return ProbeResult(**values)  # type: ignore[arg-type]


def rejection(result: ProbeResult, size: int = 1000) -> RejectionCode:
    with pytest.raises(UploadRejectedError) as raised:
        accept_audio(result, size, LIMITS)
    assert raised.value.message  # every rejection says why in words
    return raised.value.code


@pytest.mark.parametrize(
    ("container", "extension", "content_type"),
    [
        ("mp3", "mp3", "audio/mpeg"),
        ("wav", "wav", "audio/wav"),
        ("mov,mp4,m4a,3gp,3g2,mj2", "m4a", "audio/mp4"),
        ("matroska,webm", "webm", "audio/webm"),
        ("ogg", "ogg", "audio/ogg"),
    ],
)
def test_supported_containers_are_accepted(
    container: str, extension: str, content_type: str
) -> None:
    accepted = accept_audio(probe(container=container), 1000, LIMITS)
    assert (accepted.extension, accepted.content_type) == (extension, content_type)
    assert accepted.channels == 2


def test_unreadable_content_is_unsupported() -> None:
    assert rejection(probe(container=None)) is RejectionCode.UNSUPPORTED_FORMAT


def test_text_recognised_as_tty_is_unsupported() -> None:
    assert rejection(probe(container="tty", audio_codec="ansi")) is RejectionCode.UNSUPPORTED_FORMAT


def test_empty_file() -> None:
    assert rejection(probe(), size=0) is RejectionCode.EMPTY_FILE


def test_video_without_audio() -> None:
    assert rejection(probe(audio_codec=None, channels=0)) is RejectionCode.NO_AUDIO_STREAM


def test_duration_limits() -> None:
    assert rejection(probe(duration_s=9.9)) is RejectionCode.TOO_SHORT
    assert rejection(probe(duration_s=3 * 3600 + 1)) is RejectionCode.TOO_LONG
    assert rejection(probe(duration_s=None)) is RejectionCode.CORRUPTED_AUDIO
    assert accept_audio(probe(duration_s=10.0), 1000, LIMITS).duration_s == 10.0


def test_channels() -> None:
    assert rejection(probe(channels=6)) is RejectionCode.TOO_MANY_CHANNELS
    assert accept_audio(probe(channels=1), 1000, LIMITS).channels == 1


def test_size_limit_is_checked_as_bytes_arrive() -> None:
    check_size(LIMITS.max_bytes, LIMITS)
    with pytest.raises(UploadRejectedError) as raised:
        check_size(LIMITS.max_bytes + 1, LIMITS)
    assert raised.value.code is RejectionCode.FILE_TOO_LARGE
    assert "500 MB" in raised.value.message
