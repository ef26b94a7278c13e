"""The interfaces analysis's handlers need; adapters implement them, tests may fake them."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from google.protobuf import message as protobuf_message

from callscope_analysis.domain.batches import BatchItem, BatchSubmission
from callscope_analysis.domain.model import (
    Analysis,
    AnalysisSummary,
    Campaign,
    EvaluatorOutcome,
    NewAnalysis,
    Transcript,
)


class TranscriptNotFoundError(LookupError):
    """The transcript version does not exist (or belongs to another organisation)."""


class CampaignNotFoundError(LookupError):
    """The campaign does not exist (or belongs to another organisation)."""


class AnalysisVersionTakenError(RuntimeError):
    """Another writer stored that version of the call first."""


class EvaluatorUnavailableError(RuntimeError):
    """The evaluator could not answer: `reason` is for people (shown on the call, no secrets),
    `detail` is the service's own message, for the logs."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class TranscriptSource(Protocol):
    """Where transcripts are read from (the transcription service)."""

    async def get_transcript(self, org_id: str, call_id: str, version: int) -> Transcript:
        """A transcript version (0 = the latest); raises TranscriptNotFoundError."""


class CampaignDirectory(Protocol):
    """Where campaigns and their checks are read from (the gateway's directory)."""

    async def get_campaign(self, org_id: str, campaign_id: str) -> Campaign:
        """A campaign with its current checks; raises CampaignNotFoundError."""


class AnalysisStore(Protocol):
    """Where analysis versions are kept, one per run, never overwritten."""

    async def find_by_source_event(self, source_event_id: str) -> Analysis | None:
        """The analysis an event already produced, if any."""

    async def add(self, analysis: NewAnalysis) -> tuple[Analysis, bool]:
        """Stores the call's next version; returns it and True, or the analysis its
        source event already produced and False."""

    async def add_version(self, analysis: NewAnalysis, version: int) -> Analysis:
        """Stores the analysis as exactly this version of the call; raises
        AnalysisVersionTakenError when the version is already stored."""

    async def get(self, org_id: str, call_id: str, version: int) -> Analysis | None:
        """An analysis version of a call in this organisation (0 = the latest)."""

    async def list_versions(self, org_id: str, call_id: str) -> list[AnalysisSummary]:
        """Every analysis version of a call in this organisation, newest first."""

    async def delete_call(self, org_id: str, call_id: str) -> int:
        """Removes every version of a call's analyses; returns how many were removed."""


class CheckEvaluator(Protocol):
    """Answers a campaign's checks for a transcript."""

    @property
    def name(self) -> str:
        """Recorded with each analysis as `evaluator` ("local" or "claude")."""

    async def assess(self, transcript: Transcript, campaign: Campaign) -> EvaluatorOutcome:
        """Every check's result in the order of the campaign's checks, and what it cost;
        raises EvaluatorUnavailableError when it cannot answer."""


class Publisher(Protocol):
    """Publishes events to their topics."""

    async def publish(self, event: protobuf_message.Message) -> None:
        """Sends one event durably."""


class BatchItemStore(Protocol):
    """Analyses waiting for the Message Batches API, and the claims that keep two replicas
    from submitting the same item or collecting the same batch."""

    async def queue(self, item: BatchItem) -> bool:
        """Stores a new QUEUED item; False when its event already queued one."""

    async def get(self, item_id: str) -> BatchItem | None:
        """The item an event queued, if any."""

    async def queued(self, limit: int) -> list[BatchItem]:
        """Up to limit QUEUED items, oldest first."""

    async def claim(self, key: str, at: dt.datetime) -> bool:
        """Takes the claim named key for this store's holder; False when someone holds it."""

    async def release(self, key: str) -> None:
        """Gives up this holder's claim named key (someone else's stays)."""

    async def release_stale_claims(self, before: dt.datetime) -> int:
        """Drops every claim taken before the moment (a holder that crashed); how many."""

    async def mark_submitted(
        self, item_id: str, submission: BatchSubmission, at: dt.datetime
    ) -> None:
        """The item is SUBMITTED as part of a batch, with the campaign it was sent with."""

    async def submitted_batch_ids(self) -> list[str]:
        """The batches that still have SUBMITTED items."""

    async def submitted_in(self, batch_id: str) -> list[BatchItem]:
        """The batch's items that are still SUBMITTED."""

    async def mark_done(self, item_id: str, outcome: str, at: dt.datetime) -> None:
        """The item is DONE: its analysis stored ("stored") or why it failed."""
