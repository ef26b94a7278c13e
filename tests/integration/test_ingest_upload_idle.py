"""An upload whose sender goes quiet mid-file is abandoned: nothing is kept, nothing spooled."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from callscope.v1 import common_pb2, ingest_pb2, ingest_pb2_grpc
from callscope_ingest.adapters.mongo import MongoCallStore
from callscope_ingest.entrypoints.grpc_api import IngestServicer
from callscope_ingest.handlers import IngestPorts

from tests.support.audio import render_noise
from tests.support.ingest_ports import LIMITS

IDLE_S = 0.5


@pytest.fixture
async def quick_to_give_up(
    ports: IngestPorts, tmp_path: Path
) -> AsyncIterator[tuple[ingest_pb2_grpc.IngestAsyncStub, Path]]:
    """Ingest's servicer on loopback with a short idle timeout, and its spool folder."""
    spool = tmp_path / "spool"
    spool.mkdir()
    server = grpc.aio.server()
    servicer = IngestServicer(ports, LIMITS, spool, idle_timeout_s=IDLE_S)
    ingest_pb2_grpc.add_IngestServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield ingest_pb2_grpc.IngestStub(channel), spool  # type: ignore[misc]
    finally:
        await channel.close()
        await server.stop(None)


async def test_a_sender_that_stops_mid_file_is_cut_off_and_leaves_nothing(
    quick_to_give_up: tuple[ingest_pb2_grpc.IngestAsyncStub, Path],
    calls: MongoCallStore,
    tmp_path: Path,
) -> None:
    stub, spool = quick_to_give_up
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "call.wav", 12.0, seed=21).read_bytes()
    upload = stub.UploadCall()
    await upload.write(
        ingest_pb2.UploadCallRequest(
            header=ingest_pb2.UploadHeader(
                org_id=org_id,
                campaign_id=f"campaign-{org_id}",
                source=common_pb2.UPLOAD_SOURCE_API,
                file_name="quiet.wav",
            )
        )
    )
    assert (await upload.read()).WhichOneof("reply") == "ready"
    await upload.write(ingest_pb2.UploadCallRequest(chunk=audio[: len(audio) // 2]))
    # ... and then nothing, with the stream left open.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await upload.read()
    assert refused.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "nothing arrived" in (refused.value.details() or "")
    assert list(spool.iterdir()) == []
    assert await calls._calls.count_documents({"org_id": org_id}) == 0
