"""Why an upload is refused: a stable code (mapped to HTTP statuses) and words for people."""

from __future__ import annotations

from enum import StrEnum


class RejectionCode(StrEnum):
    """Stable, machine-readable reasons an upload is refused."""

    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    UNSUPPORTED_FORMAT = "unsupported_format"
    CORRUPTED_AUDIO = "corrupted_audio"
    NO_AUDIO_STREAM = "no_audio_stream"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    TOO_MANY_CHANNELS = "too_many_channels"
    INVALID_METADATA = "invalid_metadata"
    INVALID_REQUEST = "invalid_request"


class UploadRejectedError(Exception):
    """An upload that breaks a rule; nothing of it is kept."""

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RegistrationPendingError(Exception):
    """The same file is being registered as another call right now (or that registration
    died a moment ago): the upload may be sent again in a few seconds."""


class CallNotFoundError(Exception):
    """No call with this id in the caller's organisation."""


class CallNotProcessableError(Exception):
    """The call is not waiting to be processed (already queued, running or finished)."""


class CallConflictError(Exception):
    """A change the call's current state does not allow; `code` names the rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
