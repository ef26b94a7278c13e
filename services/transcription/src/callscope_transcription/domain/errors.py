"""Why a call cannot be transcribed, in words its user can act on; and other domain failures."""

from __future__ import annotations

SILENT_AUDIO_REASON = "audio is silent: no speech was found"
UNDECODABLE_AUDIO_REASON = "audio could not be decoded: unsupported codec or corrupted file"
NO_AUDIO_STREAM_REASON = "audio could not be decoded: the file contains no audio track"
MISSING_AUDIO_REASON = "audio file was not found in storage: upload the call again"


class UnusableAudioError(Exception):
    """The call's audio cannot give a transcript; retrying will not help, so the call fails."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.detail = detail


class SilentAudioError(UnusableAudioError):
    """The audio holds no speech (digital silence, or nothing the recogniser heard as words)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(SILENT_AUDIO_REASON, detail)


class UndecodableAudioError(UnusableAudioError):
    """The audio is corrupted, in an unsupported codec, or has no audio track."""

    def __init__(self, detail: str = "", *, reason: str = UNDECODABLE_AUDIO_REASON) -> None:
        super().__init__(reason, detail)


class AudioMissingError(UnusableAudioError):
    """The audio object the event points at does not exist."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(MISSING_AUDIO_REASON, detail)


class MisroutedAudioError(Exception):
    """The event points at a bucket this deployment does not read; a configuration problem."""


class TranscriptConflictError(Exception):
    """A transcript with the same version or source event was stored concurrently."""


class TranscriptNotFoundError(Exception):
    """No transcript matches the query in the caller's organisation."""


class ModelIntegrityError(Exception):
    """The speech model on disk is not the one this service was pinned to."""
