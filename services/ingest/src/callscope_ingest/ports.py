"""The interfaces ingest's handlers need; adapters implement them, tests may fake them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from callscope_common.events import EncodedEvent
from google.protobuf import message as protobuf_message

from callscope_ingest.domain.agents import Agent
from callscope_ingest.domain.audio_rules import ProbeResult
from callscope_ingest.domain.call_queries import CallQuery, PageCursor
from callscope_ingest.domain.call_summary import SummaryRow
from callscope_ingest.domain.calls import AgentLink, Call, CallResult, CallReview, Failure
from callscope_ingest.domain.duplicates import Fingerprint
from callscope_ingest.domain.hand_over import HandOver
from callscope_ingest.domain.jobs import ItemClaim, Job, JobCursor, JobItem, JobTally
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus


class CallStore(Protocol):
    """Where calls are kept."""

    async def insert(self, call: Call) -> None:
        """Stores a new call."""

    async def get(self, org_id: str, call_id: str) -> Call | None:
        """The call with this id in this organisation, if any."""

    async def exists(self, call_id: str) -> bool:
        """Whether a call with this id exists in any organisation."""

    async def find_by_source_ref(self, org_id: str, source_ref: str) -> Call | None:
        """The organisation's call made from the upload with this source_ref, if any."""

    async def move_status(
        self,
        call_id: str,
        target: CallStatus,
        at: dt.datetime,
        *,
        result: CallResult | None = None,
        failure: Failure | None = None,
    ) -> bool:
        """Moves the call to target if the status rules allow it; False when they don't."""

    async def delete(self, call_id: str) -> None:
        """Removes a call."""

    async def mark_queued(self, call_id: str, at: dt.datetime, hand_over: HandOver) -> bool:
        """Sets queued_at and the hand-over if the call is PENDING and not queued yet; False
        otherwise."""

    async def list(self, query: CallQuery) -> tuple[list[Call], PageCursor | None]:
        """One page of calls, newest first, and the cursor of the next page (None at the end)."""

    async def count(self, query: CallQuery) -> int:
        """How many calls match the query's filters (its page fields are ignored)."""

    def summary_rows(self, query: CallQuery, limit: int) -> AsyncIterator[SummaryRow]:
        """What a summary needs of up to limit matching calls, newest first."""

    async def update_details(
        self, call_id: str, metadata: CallMetadata, agent: AgentLink | None, at: dt.datetime
    ) -> None:
        """Replaces the call's metadata and agent link."""

    async def replace_result(self, call_id: str, result: CallResult, at: dt.datetime) -> bool:
        """Replaces the call's result (clearing its review mark) when result's analysis version
        is newer than the stored one, whatever the status; False when it is not."""

    async def mark_reviewed(self, call_id: str, review: CallReview) -> bool:
        """Sets the review mark if the call is COMPLETED with the reviewed analysis version;
        False when the call changed meanwhile."""

    async def claim_rerun(self, call_id: str, run: int) -> bool:
        """Claims the call's run number `run` once; False when another request has it."""

    async def release_rerun(self, call_id: str, run: int) -> None:
        """Gives up the claim of run number `run` (the re-run did not start)."""

    async def restart(
        self,
        call_id: str,
        from_statuses: frozenset[CallStatus],
        at: dt.datetime,
        hand_over: HandOver,
    ) -> bool:
        """Puts a finished call back to PENDING (queued) with the re-run's hand-over; False if
        not finished."""

    async def mark_handed_over(self, call_id: str, event_id: str) -> None:
        """Notes that the broker has the hand-over record with this event id."""

    async def unpublished(self, stored_before: dt.datetime, limit: int) -> Sequence[Call]:
        """Calls whose hand-over the broker may not have, stored before the time."""

    async def unmoved(self, since: dt.datetime, limit: int) -> Sequence[Call]:
        """Queued calls in the pipeline whose status has not changed since the time."""

    async def note_redrive(self, call: Call, at: dt.datetime) -> bool:
        """Counts one more re-drive if the call is as read; False when it moved meanwhile."""

    async def forget_claims(self, call_id: str) -> None:
        """Removes the call's queue and re-run claims (the call is being deleted)."""


class FingerprintStore(Protocol):
    """Unique fingerprints of calls, claimed atomically (see domain/duplicates.py)."""

    async def claim(self, fingerprint: Fingerprint, call_id: str) -> str | None:
        """Claims the fingerprint for call_id; the id of the call holding it, if taken."""

    async def take_over(
        self, fingerprint: Fingerprint, holder: str, call_id: str, claimed_before: dt.datetime
    ) -> bool:
        """Moves the fingerprint from holder to call_id if holder claimed it before the time;
        whether call_id holds it now."""

    async def release(self, call_id: str) -> None:
        """Frees every fingerprint a call holds."""

    async def held_by(self, call_id: str) -> frozenset[str]:
        """The keys of the fingerprints the call holds."""

    async def release_keys(self, call_id: str, keys: frozenset[str]) -> None:
        """Frees some of the call's fingerprints."""


class CampaignSettings(Protocol):
    """What ingest needs to know of a campaign, from the gateway's directory."""

    async def auto_processing(self, org_id: str, campaign_id: str) -> bool:
        """Whether new calls go to transcription at once."""


class AgentDirectory(Protocol):
    """The campaign's agents, from the gateway's directory."""

    async def find_agent(self, org_id: str, campaign_id: str, code: str) -> Agent | None:
        """The agent with this code among the campaign's agents."""

    async def get_agent(self, org_id: str, agent_id: str) -> Agent | None:
        """An agent of the organisation by id."""


class AudioStore(Protocol):
    """Where call audio is kept."""

    bucket: str

    async def upload_file(self, path: Path, key: str, content_type: str) -> None:
        """Stores a local file under key."""

    async def delete(self, key: str) -> None:
        """Removes an object."""

    def read_range(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]:
        """Streams length bytes of an object from offset, in chunks."""


class AudioProber(Protocol):
    """Reads a file's container, codec, channels and duration from its content."""

    async def probe(self, path: Path) -> ProbeResult:
        """Probes a local file."""


class Publisher(Protocol):
    """Publishes events to their topics."""

    async def publish(self, event: protobuf_message.Message) -> None:
        """Sends one event durably."""

    async def publish_record(self, record: EncodedEvent) -> None:
        """Sends one already encoded event durably."""


class StageBacklog(Protocol):
    """How much work the pipeline's stages have queued in the broker."""

    async def queued_records(self) -> int:
        """Records the stages' consumer groups have not committed yet (0: they are idle)."""


class JobStore(Protocol):
    """Jobs and their items; who uploads an item is settled by a unique claim."""

    async def create(self, job: Job, items: Sequence[JobItem]) -> None:
        """Stores a new job with its items."""

    async def get(self, org_id: str, job_id: str) -> Job | None:
        """The job with this id in this organisation, if any."""

    async def page(
        self, org_id: str, campaign_id: str, limit: int, after: JobCursor | None
    ) -> list[Job]:
        """Up to limit jobs of a campaign, newest first, after the cursor."""

    async def items(self, job_id: str) -> list[JobItem]:
        """The job's items in order, each with its call's current status."""

    async def item(self, job_id: str, item_id: str) -> JobItem | None:
        """One item of the job, if it has it."""

    async def tallies(self, job_ids: Sequence[str]) -> dict[str, JobTally]:
        """Per job: its items per state and its calls per status."""

    async def claim_item(self, job_id: str, item_id: str, claim: ItemClaim) -> ItemClaim | None:
        """Claims the item; None when claimed, else what already holds it."""

    async def release_item(self, item_id: str) -> None:
        """Frees the item's claim (its file may be sent again)."""

    async def start_upload(self, item_id: str, size_bytes: int, at: dt.datetime) -> None:
        """WAITING/REJECTED → UPLOADING, progress from zero."""

    async def record_progress(self, item_id: str, bytes_received: int, at: dt.datetime) -> None:
        """Writes down how many bytes of the item's file have arrived."""

    async def finish_upload(
        self, item_id: str, call_id: str, bytes_received: int, at: dt.datetime
    ) -> None:
        """UPLOADING → UPLOADED with the call."""

    async def reject_upload(self, item_id: str, code: str, message: str, at: dt.datetime) -> None:
        """UPLOADING → REJECTED with the reason."""

    async def reset_upload(self, item_id: str, at: dt.datetime) -> None:
        """UPLOADING → WAITING (the client went away mid-file)."""

    async def stale_uploads(self, progress_before: dt.datetime, limit: int) -> list[JobItem]:
        """UPLOADING items whose progress was last written before the time."""

    async def call_of_item(self, job_id: str, item_id: str) -> tuple[str, int] | None:
        """The id and audio size of the call made from the item's file, if one was stored."""

    async def stray_upload_claims(self, claimed_before: dt.datetime, limit: int) -> list[str]:
        """Items WAITING or REJECTED whose upload claim, taken before the time, was never
        freed (their ingest died between settling the item and freeing it)."""

    async def cancel_item(self, item_id: str, at: dt.datetime) -> None:
        """The item → CANCELLED (its claim is the cancellation's)."""

    async def claim_cancellation(self, job_id: str, at: dt.datetime) -> bool:
        """Claims the job's cancellation once; False when it was already cancelled."""

    async def mark_cancelled(self, job_id: str, at: dt.datetime) -> None:
        """Sets the job's cancelled_at."""

    async def cancel_waiting_items(self, job_id: str, at: dt.datetime) -> int:
        """Claims every WAITING item for the cancellation and cancels it; how many were."""


Document = dict[str, Any]
