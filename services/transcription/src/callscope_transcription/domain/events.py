"""What happened to a call in this stage, as the rest of the platform is told about it."""

from __future__ import annotations

from dataclasses import dataclass

from callscope_transcription.domain.model import CallContext


@dataclass(frozen=True)
class TranscriptionStarted:
    """The service began transcribing the call."""

    context: CallContext


@dataclass(frozen=True)
class TranscriptionFailed:
    """The call cannot be transcribed; reason tells its user why, in words they can act on."""

    context: CallContext
    reason: str


@dataclass(frozen=True)
class CallTranscribed:
    """A transcript version of the call is stored."""

    context: CallContext
    transcript_id: str
    transcript_version: int
    speaker_roles_need_review: bool = False


TranscriptionEvent = TranscriptionStarted | TranscriptionFailed | CallTranscribed
