"""Why a call cannot be transcribed, in words its user can act on; and other domain failures."""

from __future__ import annotations

SILENT_AUDIO_REASON = "audio is silent: no speech was found"
UNDECODABLE_AUDIO_REASON = "audio could not be decoded: unsupported codec or corrupted file"
NO_AUDIO_STREAM_REASON = "audio could not be decoded: the file contains no audio track"
MISSING_AUDIO_REASON = "audio file was not found in storage: upload the call again"


class TranscriptionFailedError(Exception):
    """The call cannot be transcribed now; it fails with a reason its user can act on.

    reason is shown to users (no stack traces, no keys, no internal names);
    detail is for the logs only.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.detail = detail


class UnusableAudioError(TranscriptionFailedError):
    """The call's audio cannot give a transcript; retrying will not help, so the call fails."""


class ProviderError(TranscriptionFailedError):
    """A transcription provider refused the work, or stayed unavailable through every retry.

    The reasons name the provider and what to do: fix the key, try again later, or
    switch the campaign to another provider, as the product guide advises.
    """


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
