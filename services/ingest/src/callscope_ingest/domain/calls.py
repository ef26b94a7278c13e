"""A call as ingest owns it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from callscope_ingest.domain.errors import CallConflictError
from callscope_ingest.domain.hand_over import HandOver
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus


class UploadSource(StrEnum):
    """How a call entered the platform."""

    UI = "UI"
    API = "API"
    BULK = "BULK"
    SFTP = "SFTP"


@dataclass(frozen=True)
class StoredAudio:
    """The call's audio object in the object store."""

    bucket: str
    key: str
    size_bytes: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class CallResult:
    """The outcome of the analysis a call completed with."""

    score: float
    flagged: bool
    flag_reasons: tuple[str, ...]
    analysis_version: int
    transcript_version: int


@dataclass(frozen=True)
class CallReview:
    """A reviewer marked the call's result (analysis version) reviewed."""

    reviewed_by: str
    reviewed_at: dt.datetime
    note: str
    analysis_version: int


# A review note is a sentence or two for the team, not a document.
MAX_REVIEW_NOTE_CHARS = 2000


@dataclass(frozen=True)
class Failure:
    """Which stage failed a call, and why, in words a user understands."""

    stage: str
    reason: str


class AgentLinkMethod(StrEnum):
    """How a call came to be linked to an agent."""

    METADATA = "METADATA"
    FILE_NAME = "FILE_NAME"
    MANUAL = "MANUAL"


@dataclass(frozen=True)
class AgentLink:
    """The agent a call is linked to, as the directory knew them when linked."""

    agent_id: str
    code: str
    name: str
    method: AgentLinkMethod


@dataclass(frozen=True)
class Call:
    """One uploaded recording and where it is in the pipeline."""

    id: str
    org_id: str
    campaign_id: str
    source: UploadSource
    file_name: str
    metadata: CallMetadata
    # None for a DUPLICATE: its audio is not kept, the original's is.
    audio: StoredAudio | None
    duration_s: float
    channels: int
    status: CallStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    result: CallResult | None = None
    failure: Failure | None = None
    duplicate_of: str = ""
    duplicate_reason: str = ""
    # When the call was handed to transcription; None while it waits for a manual
    # "process" because its campaign's auto-processing is off.
    queued_at: dt.datetime | None = None
    status_history: tuple[tuple[CallStatus, dt.datetime], ...] = field(default=())
    agent: AgentLink | None = None
    # The job (multi-file or bulk upload) and its item the call came from, if any.
    job_id: str = ""
    job_item_id: str = ""
    # How many times a person re-ran the pipeline on the call.
    reruns: int = 0
    # The sending system's own id for the file (SFTP: its file record), "" when none;
    # a later upload with the same source_ref in the organisation is answered with this call.
    source_ref: str = ""
    # Set once a reviewer marked the current result reviewed; any newer analysis
    # version (re-run or override) clears it.
    review: CallReview | None = None
    # The event that handed the current run to the pipeline (the outbox; hand_over.py).
    hand_over: HandOver | None = None


def audio_key(org_id: str, campaign_id: str, call_id: str, extension: str) -> str:
    """The object key of a call's audio: built from ids only, never from the client's file name."""
    return f"{org_id}/{campaign_id}/{call_id}/audio.{extension}"


def registered_status(call: Call) -> CallStatus:
    """The status the call was registered with (PENDING or DUPLICATE), whatever it is now.

    A repeated upload (same source_ref) is answered with what the first upload was
    answered, so the sender cannot tell the two replies apart.
    """
    return call.status_history[0][0] if call.status_history else call.status


def in_pipeline(call: Call) -> bool:
    """Queued, transcribing or analysing: a stage may still write to the call."""
    return call.status in (CallStatus.TRANSCRIBING, CallStatus.ANALYZING) or (
        call.status is CallStatus.PENDING and call.queued_at is not None
    )


def has_transcript(call: Call) -> bool:
    """Whether the call's last run left a transcript: it completed, or failed only at analysis."""
    return call.status is CallStatus.COMPLETED or (
        call.status is CallStatus.FAILED
        and call.failure is not None
        and call.failure.stage == "ANALYSIS"
    )


def check_reviewable(call: Call) -> CallResult:
    """The result a reviewer may mark reviewed; CallConflictError unless the call is COMPLETED."""
    if call.status is not CallStatus.COMPLETED or call.result is None:
        raise CallConflictError(
            "not_reviewable",
            f"the call is {call.status.value.lower()}; only a completed call's result can be "
            "marked reviewed (wait for the analysis to finish)",
        )
    return call.result


def check_swappable(call: Call) -> None:
    """Raises CallConflictError unless agent and customer can be swapped on the call now.

    Swapping needs a transcript (a call never transcribed has nothing to swap) and a
    call out of the pipeline: the swap is a run of its own, like a re-run.
    """
    if in_pipeline(call):
        raise CallConflictError(
            "call_in_progress",
            f"the call is {call.status.value.lower()}"
            + (" (queued)" if call.status is CallStatus.PENDING else "")
            + "; swap the speakers once it has completed",
        )
    if call.status is CallStatus.DUPLICATE or call.audio is None:
        raise CallConflictError(
            "no_transcript",
            f"a duplicate has no transcript of its own; swap the speakers on the original call "
            f"{call.duplicate_of}".rstrip(),
        )
    if call.status is CallStatus.PENDING:
        raise CallConflictError(
            "no_transcript",
            "the call has not been transcribed yet (it waits to be processed); process it, "
            "then swap the speakers if they come out wrong",
        )
    if not has_transcript(call):
        stage = call.failure.stage.lower() if call.failure else "an early stage"
        raise CallConflictError(
            "no_transcript",
            f"the call failed at {stage} and has no transcript to swap; "
            "re-run the transcription instead",
        )
