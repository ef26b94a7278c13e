"""An upload whose ingest goes away mid-file ends with the call's gRPC status (a 503 to
retry), not with an error that reads like a client that left (a 400, never retried).

grpc.aio raises InvalidStateError on a write to a call that has ended; when ingest dies,
the call can end a moment before the pending read of its verdict has raised. The
stand-in call below reproduces that order deterministically.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from callscope.v1 import ingest_pb2
from callscope_gateway.adapters.grpc_clients import PeerClients
from callscope_gateway.entrypoints.errors import from_rpc


class _CallWhoseServerDies:
    """A stream-stream call: `ready`, then the server is gone after the first chunk."""

    def __init__(self) -> None:
        self._ended = False
        self._status_read = asyncio.Event()
        self._reads = 0
        self.chunks_written = 0

    def done(self) -> bool:
        return self._ended

    def cancel(self) -> bool:
        return True

    async def write(self, message: ingest_pb2.UploadCallRequest) -> None:
        if self._ended:
            raise asyncio.InvalidStateError("RPC already finished.")
        if message.HasField("chunk"):
            self.chunks_written += 1
            # The connection drops: the call ends now, its pending read raises a bit later.
            self._ended = True
            asyncio.get_running_loop().call_later(0.05, self._status_read.set)

    async def done_writing(self) -> None:
        return None

    async def read(self) -> ingest_pb2.UploadCallReply:
        self._reads += 1
        if self._reads == 1:
            return ingest_pb2.UploadCallReply(ready=ingest_pb2.ReadyForFile())
        await self._status_read.wait()
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "Socket closed"
        )


class _Stub:
    def __init__(self, call: _CallWhoseServerDies) -> None:
        self._call = call

    def UploadCall(self, **_: Any) -> _CallWhoseServerDies:  # noqa: N802  # gRPC's name
        return self._call


async def test_the_upload_raises_the_calls_status_when_ingest_goes_away() -> None:
    call = _CallWhoseServerDies()
    peers = PeerClients("127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1")
    peers._ingest = _Stub(call)  # type: ignore[assignment]  # the stand-in call above

    async def body() -> AsyncIterator[ingest_pb2.UploadCallRequest]:
        for _ in range(5):
            yield ingest_pb2.UploadCallRequest(chunk=b"\x00" * 1024)

    header = ingest_pb2.UploadHeader(org_id="org", campaign_id="campaign", file_name="a.wav")
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await peers.upload_call(header, body())
    assert call.chunks_written == 1
    error = from_rpc(failed.value, service="ingest")
    assert (error.code, error.retry_after_s) == ("service_unavailable", 5)
