"""The product guide's audio rules: formats, duration, channels and size, owned here once."""

from __future__ import annotations

from dataclasses import dataclass

from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError

# ffprobe's container names for the formats the product accepts, and the
# content type stored with the object. ffprobe reports mp4/m4a/mov as one family.
_CONTAINERS: dict[str, tuple[str, str]] = {
    "mp3": ("mp3", "audio/mpeg"),
    "wav": ("wav", "audio/wav"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("m4a", "audio/mp4"),
    "matroska,webm": ("webm", "audio/webm"),
    "ogg": ("ogg", "audio/ogg"),
}
SUPPORTED_FORMATS_TEXT = "MP3, WAV, M4A, MP4, WebM or OGG"


@dataclass(frozen=True)
class AudioLimits:
    """Configurable limits; defaults are the product guide's."""

    max_bytes: int = 500 * 1024 * 1024
    min_duration_s: float = 10.0
    max_duration_s: float = 3 * 60 * 60


@dataclass(frozen=True)
class ProbeResult:
    """What ffprobe found in a file; `container` is None when it recognised nothing."""

    container: str | None
    audio_codec: str | None
    channels: int
    sample_rate: int
    duration_s: float | None


@dataclass(frozen=True)
class AcceptedAudio:
    """An upload that passed every rule."""

    extension: str
    content_type: str
    duration_s: float
    channels: int


def check_size(size_bytes: int, limits: AudioLimits) -> None:
    """Refuses a file above the size limit (called while bytes arrive, to cut off early)."""
    if size_bytes > limits.max_bytes:
        raise UploadRejectedError(
            RejectionCode.FILE_TOO_LARGE,
            f"the file is larger than the {_megabytes(limits.max_bytes)} limit; "
            "compress or split it, or use bulk upload",
        )


# A declared size is the whole request body (multipart boundaries, other fields);
# this much above the limit is still let through, and the bytes decide.
DECLARED_SIZE_MARGIN = 64 * 1024


def check_declared_size(declared_bytes: int, limits: AudioLimits) -> None:
    """Refuses an upload whose announced size is clearly over the limit, before any bytes."""
    if declared_bytes > limits.max_bytes + DECLARED_SIZE_MARGIN:
        check_size(declared_bytes, limits)


def accept_audio(probe: ProbeResult, size_bytes: int, limits: AudioLimits) -> AcceptedAudio:
    """Applies the format, stream, duration and channel rules to a probed file."""
    if size_bytes == 0:
        raise UploadRejectedError(RejectionCode.EMPTY_FILE, "the file is empty (0 bytes)")
    check_size(size_bytes, limits)
    if probe.container is None:
        raise UploadRejectedError(
            RejectionCode.UNSUPPORTED_FORMAT,
            f"the file is not audio we can read; upload {SUPPORTED_FORMATS_TEXT}",
        )
    known = _CONTAINERS.get(probe.container)
    if known is None:
        raise UploadRejectedError(
            RejectionCode.UNSUPPORTED_FORMAT,
            f"the file's content is not {SUPPORTED_FORMATS_TEXT} audio "
            f"(it looks like '{probe.container}')",
        )
    if probe.audio_codec is None:
        raise UploadRejectedError(RejectionCode.NO_AUDIO_STREAM, "the file contains no audio track")
    if probe.duration_s is None:
        raise UploadRejectedError(
            RejectionCode.CORRUPTED_AUDIO,
            "the audio's duration cannot be read; the file may be corrupted, re-export it",
        )
    if probe.duration_s < limits.min_duration_s:
        raise UploadRejectedError(
            RejectionCode.TOO_SHORT,
            f"the call is {probe.duration_s:.1f} s long; calls must last at least "
            f"{limits.min_duration_s:g} s",
        )
    if probe.duration_s > limits.max_duration_s:
        raise UploadRejectedError(
            RejectionCode.TOO_LONG,
            f"the call is {probe.duration_s / 3600:.1f} h long; calls may last at most "
            f"{limits.max_duration_s / 3600:g} h",
        )
    if probe.channels not in (1, 2):
        raise UploadRejectedError(
            RejectionCode.TOO_MANY_CHANNELS,
            f"the audio has {probe.channels} channels; only mono or stereo is supported",
        )
    extension, content_type = known
    return AcceptedAudio(extension, content_type, probe.duration_s, probe.channels)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
