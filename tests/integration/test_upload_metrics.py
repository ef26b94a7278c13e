"""Ingest counts each upload once, by the source its header names and how it ended."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from callscope.v1 import common_pb2, ingest_pb2, ingest_pb2_grpc
from callscope_ingest.entrypoints.grpc_api import IngestServicer
from callscope_ingest.handlers import IngestPorts

from tests.support.audio import render_noise
from tests.support.ingest_ports import LIMITS
from tests.support.polling import wait_for
from tests.support.scraped_metrics import Scrape, scrape_this_process

CHUNK = 64 * 1024
IDLE_S = 0.5


@pytest.fixture
async def stub(
    ports: IngestPorts, tmp_path: Path
) -> AsyncIterator[ingest_pb2_grpc.IngestAsyncStub]:
    """Ingest's servicer on loopback on the real adapters, quick to give up on a quiet sender."""
    server = grpc.aio.server()
    servicer = IngestServicer(ports, LIMITS, tmp_path, idle_timeout_s=IDLE_S)
    ingest_pb2_grpc.add_IngestServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield ingest_pb2_grpc.IngestStub(channel)  # type: ignore[misc]
    finally:
        await channel.close()
        await server.stop(None)


def _header(
    org_id: str, source: common_pb2.UploadSource.ValueType, source_ref: str = ""
) -> ingest_pb2.UploadCallRequest:
    return ingest_pb2.UploadCallRequest(
        header=ingest_pb2.UploadHeader(
            org_id=org_id,
            campaign_id=f"campaign-{org_id}",
            source=source,
            file_name="agent-JS001_call.wav",
            source_ref=source_ref,
        )
    )


async def _send(
    stub: ingest_pb2_grpc.IngestAsyncStub, header: ingest_pb2.UploadCallRequest, audio: bytes
) -> str:
    """Uploads the file; the reply kind or the rejection code it ended with."""
    upload = stub.UploadCall()
    await upload.write(header)
    try:
        if (await upload.read()).WhichOneof("reply") == "ready":
            for start in range(0, len(audio), CHUNK):
                await upload.write(ingest_pb2.UploadCallRequest(chunk=audio[start : start + CHUNK]))
            await upload.done_writing()
            await upload.read()
    except grpc.aio.AioRpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        return str(trailers.get("rejection-code", error.code().name))
    return "answered"


def _moved(before: Scrape, source: str, outcome: str) -> float:
    name = "callscope_uploads_total"
    return scrape_this_process().value(name, source=source, outcome=outcome) - before.value(
        name, source=source, outcome=outcome
    )


async def test_accepted_duplicate_repeated_and_rejected_uploads_are_counted(
    stub: ingest_pb2_grpc.IngestAsyncStub, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / "call.wav", 12.0, seed=31).read_bytes()
    api, sftp = common_pb2.UPLOAD_SOURCE_API, common_pb2.UPLOAD_SOURCE_SFTP
    before = scrape_this_process()

    assert await _send(stub, _header(org_id, api), audio) == "answered"
    assert await _send(stub, _header(org_id, api), audio) == "answered"  # same bytes
    sftp_audio = render_noise(tmp_path / "sftp.wav", 12.0, seed=32).read_bytes()
    for _ in range(2):
        assert await _send(stub, _header(org_id, sftp, "sftp-file-1"), sftp_audio) == "answered"
    assert await _send(stub, _header(org_id, api), b"not audio at all") == "unsupported_format"

    assert _moved(before, "API", "accepted") == 1
    assert _moved(before, "API", "duplicate") == 1
    assert _moved(before, "SFTP", "accepted") == 1
    assert _moved(before, "SFTP", "repeated") == 1
    assert _moved(before, "API", "rejected:unsupported_format") == 1


async def test_a_quiet_sender_and_a_sender_that_goes_away_are_counted(
    stub: ingest_pb2_grpc.IngestAsyncStub, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    half = render_noise(tmp_path / "call.wav", 12.0, seed=33).read_bytes()[:CHUNK]
    before = scrape_this_process()

    quiet = stub.UploadCall()
    await quiet.write(_header(org_id, common_pb2.UPLOAD_SOURCE_UI))
    await quiet.read()
    await quiet.write(ingest_pb2.UploadCallRequest(chunk=half))
    with pytest.raises(grpc.aio.AioRpcError) as cut_off:
        await quiet.read()
    assert cut_off.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED

    gone = stub.UploadCall()
    await gone.write(_header(org_id, common_pb2.UPLOAD_SOURCE_UI))
    await gone.read()
    await gone.write(ingest_pb2.UploadCallRequest(chunk=half))
    gone.cancel()

    assert _moved(before, "UI", "idle_timeout") == 1
    await wait_for(
        lambda: asyncio.sleep(0, _moved(before, "UI", "abandoned") == 1),
        timeout_s=30,
        describe="the abandoned upload to be counted",
    )
