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
    """A stretch of speech recognised on one channel, before it is given a speaker."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]


@dataclass(frozen=True)
class Segment:
    """A stretch of one speaker's speech, with its words."""

    speaker: Speaker
    start: float
    end: float
    text: str
    words: tuple[Word, ...]


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


@dataclass(frozen=True)
class TranscribeCall:
    """Command: transcribe the call's audio into a new transcript version."""

    context: CallContext
    audio: AudioLocation


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
