"""What a transcript is: words, speaker-labelled segments and versioned transcripts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Speaker(StrEnum):
    """Who spoke a segment; UNKNOWN for mono audio, where the parties share one channel."""

    AGENT = "AGENT"
    CUSTOMER = "CUSTOMER"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Word:
    """One recognised word with its time in the call (seconds) and the model's confidence."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Utterance:
    """A stretch of one voice's speech, before it is given a role (agent or customer).

    voice says whose speech it is: on stereo the channel (0 = left, 1 = right); on
    mono the speaker the provider told apart (0 = the first voice heard, 1 = the
    other), or 0 for everything when the voices could not be split.
    """

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    voice: int = 0


@dataclass(frozen=True)
class Segment:
    """A stretch of one speaker's speech, with its words."""

    speaker: Speaker
    start: float
    end: float
    text: str
    words: tuple[Word, ...]


class Layout(StrEnum):
    """How the parties were recorded: one channel each, or both in one channel."""

    STEREO = "stereo"
    MONO = "mono"


class RoleSource(StrEnum):
    """How AGENT and CUSTOMER were decided (see domain/roles.py)."""

    CHANNEL = "CHANNEL"
    VOICES = "VOICES"
    MANUAL = "MANUAL"


@dataclass(frozen=True)
class SpeakerRoles:
    """Which voice is the agent, how sure that is, and what it rests on."""

    source: RoleSource
    agent_voice: int
    confidence: float
    needs_review: bool
    evidence: tuple[str, ...]
    swapped_by: str = ""
    swapped_from_version: int = 0


@dataclass(frozen=True)
class AudioLocation:
    """Where a call's audio object is stored."""

    bucket: str
    key: str


@dataclass(frozen=True)
class CallContext:
    """The call an event concerns and the event that caused the work (for idempotency)."""

    call_id: str
    org_id: str
    campaign_id: str
    cause_event_id: str


@dataclass(frozen=True)
class Transcript:
    """One stored version of a call's transcript."""

    id: str
    call_id: str
    org_id: str
    campaign_id: str
    version: int
    source_event_id: str
    provider: str
    model: str
    language: str
    duration_seconds: float
    segments: tuple[Segment, ...]
    created_at: dt.datetime
    speaker_roles: SpeakerRoles | None = None
    settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TranscribeCall:
    """Command: transcribe the call's audio into a new transcript version."""

    context: CallContext
    audio: AudioLocation


@dataclass(frozen=True)
class SwapSpeakers:
    """Command: store a new version of a transcript with agent and customer exchanged."""

    context: CallContext
    of_version: int
    requested_by: str


@dataclass(frozen=True)
class DeleteCallTranscripts:
    """Command: delete every transcript version of a deleted call."""

    call_id: str
    org_id: str


@dataclass(frozen=True)
class GetTranscript:
    """Query: one transcript version of a call in an organisation (version 0 = the latest)."""

    org_id: str
    call_id: str
    version: int = 0
