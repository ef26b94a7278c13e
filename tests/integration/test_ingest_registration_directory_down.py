"""An upload whose campaign lookup fails (the gateway's Directory down) leaves nothing claimed.

Found by the fault suite's gateway kill: the lookup used to come after the fingerprint
claims, so its failure left them held by a call that was never stored, and the client's
retry was recorded as a DUPLICATE of that call, which does not exist.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
from callscope_ingest.adapters.mongo import MongoCallStore
from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.handlers import IngestPorts, RegisterCall

from tests.support.audio import render_noise
from tests.support.ingest_ports import upload


class UnreachableDirectory:
    """Campaign settings whose gRPC peer has gone away."""

    async def auto_processing(self, org_id: str, campaign_id: str) -> bool:
        raise ConnectionError("the gateway's Directory is unreachable")


async def test_a_retry_after_the_directory_failed_is_a_new_call_not_a_duplicate(
    calls: MongoCallStore, ports: IngestPorts, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    request = RegisterCall(
        org_id=org_id,
        campaign_id=f"campaign-{org_id}",
        source=UploadSource.API,
        file_name="call.wav",
        metadata=CallMetadata(),
    )
    audio = render_noise(tmp_path / "call.wav", 12.0, seed=21)
    with pytest.raises(ConnectionError):
        await upload(audio, request, dataclasses.replace(ports, campaigns=UnreachableDirectory()))

    retried = await upload(audio, request, ports)

    assert retried.status is CallStatus.PENDING and not retried.duplicate_of
    stored = await calls.get(org_id, retried.id)
    assert stored is not None and stored.status is CallStatus.PENDING
