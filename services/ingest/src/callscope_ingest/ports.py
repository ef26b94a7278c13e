"""The interfaces ingest's handlers need; adapters implement them, tests may fake them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Protocol

from google.protobuf import message as protobuf_message

from callscope_ingest.domain.audio_rules import ProbeResult
from callscope_ingest.domain.calls import Call, CallResult, Failure
from callscope_ingest.domain.duplicates import Fingerprint
from callscope_ingest.domain.status import CallStatus


class CallStore(Protocol):
    """Where calls are kept."""

    async def insert(self, call: Call) -> None:
        """Stores a new call."""

    async def get(self, org_id: str, call_id: str) -> Call | None:
        """The call with this id in this organisation, if any."""

    async def exists(self, call_id: str) -> bool:
        """Whether a call with this id exists in any organisation."""

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

    async def mark_queued(self, call_id: str, at: dt.datetime) -> bool:
        """Sets queued_at if the call is PENDING and not queued yet; False otherwise."""

    async def unmark_queued(self, call_id: str) -> None:
        """Clears queued_at again (the hand-over to transcription failed)."""


class FingerprintStore(Protocol):
    """Unique fingerprints of calls, claimed atomically (see domain/duplicates.py)."""

    async def claim(self, fingerprint: Fingerprint, call_id: str) -> str | None:
        """Claims the fingerprint for call_id; the id of the call holding it, if taken."""

    async def release(self, call_id: str) -> None:
        """Frees every fingerprint a call holds."""


class CampaignSettings(Protocol):
    """What ingest needs to know of a campaign, from the gateway's directory."""

    async def auto_processing(self, org_id: str, campaign_id: str) -> bool:
        """Whether new calls go to transcription at once."""


class AudioStore(Protocol):
    """Where call audio is kept."""

    bucket: str

    async def upload_file(self, path: Path, key: str, content_type: str) -> None:
        """Stores a local file under key."""

    async def delete(self, key: str) -> None:
        """Removes an object."""


class AudioProber(Protocol):
    """Reads a file's container, codec, channels and duration from its content."""

    async def probe(self, path: Path) -> ProbeResult:
        """Probes a local file."""


class Publisher(Protocol):
    """Publishes events to their topics."""

    async def publish(self, event: protobuf_message.Message) -> None:
        """Sends one event durably."""


Document = dict[str, Any]
