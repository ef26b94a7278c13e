"""Every gRPC call is counted by service, method and the status it ended with, and timed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from callscope_common.grpc_metrics import GrpcServerMetrics

from tests.support.byte_rpc import byte_rpc_channel
from tests.support.scraped_metrics import scrape_this_process

SERVICE = "test.MetricsProbe"


async def _answer(request: bytes, context: Any) -> bytes:
    if request == b"missing":
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    if request == b"crash":
        raise ValueError("a bug")
    if request == b"refuse":
        context.set_code(grpc.StatusCode.FAILED_PRECONDITION)
        return b""
    return request


async def _repeat(request: bytes, context: Any) -> AsyncIterator[bytes]:
    yield request
    if request == b"missing":
        await context.abort(grpc.StatusCode.NOT_FOUND, "gone mid-stream")
    yield request


async def _gather(requests: AsyncIterator[bytes], context: Any) -> bytes:
    return b"".join([request async for request in requests])


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    async with byte_rpc_channel(
        SERVICE,
        {
            "Answer": (grpc.unary_unary_rpc_method_handler, _answer),
            "Repeat": (grpc.unary_stream_rpc_method_handler, _repeat),
            "Gather": (grpc.stream_unary_rpc_method_handler, _gather),
        },
        [GrpcServerMetrics()],
    ) as opened:
        yield opened


def _calls(method: str, code: str) -> float:
    return scrape_this_process().value(
        "callscope_grpc_server_requests_total", service=SERVICE, method=method, code=code
    )


def _timed(method: str) -> float:
    return scrape_this_process().value(
        "callscope_grpc_server_seconds_count", service=SERVICE, method=method
    )


@pytest.mark.parametrize(
    ("request_bytes", "code"),
    [
        (b"hello", "OK"),
        (b"missing", "NOT_FOUND"),
        (b"crash", "UNKNOWN"),
        (b"refuse", "FAILED_PRECONDITION"),
    ],
)
async def test_a_unary_call_is_counted_under_the_code_it_ended_with(
    channel: grpc.aio.Channel, request_bytes: bytes, code: str
) -> None:
    before, timed_before = _calls("Answer", code), _timed("Answer")
    call = channel.unary_unary(f"/{SERVICE}/Answer")
    try:
        await call(request_bytes)
    except grpc.aio.AioRpcError as error:
        assert error.code().name == code
    assert _calls("Answer", code) == before + 1
    assert _timed("Answer") == timed_before + 1


async def test_a_stream_is_counted_once_when_it_ends(channel: grpc.aio.Channel) -> None:
    ok_before, lost_before = _calls("Repeat", "OK"), _calls("Repeat", "NOT_FOUND")
    stream = channel.unary_stream(f"/{SERVICE}/Repeat")
    assert [reply async for reply in stream(b"twice")] == [b"twice", b"twice"]
    with pytest.raises(grpc.aio.AioRpcError):
        async for _ in stream(b"missing"):
            pass
    assert _calls("Repeat", "OK") == ok_before + 1
    assert _calls("Repeat", "NOT_FOUND") == lost_before + 1


async def test_a_client_stream_is_counted(channel: grpc.aio.Channel) -> None:
    before = _calls("Gather", "OK")

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"a", b"b"):
            yield part

    assert await channel.stream_unary(f"/{SERVICE}/Gather")(parts()) == b"ab"
    assert _calls("Gather", "OK") == before + 1


async def test_an_unknown_method_is_not_counted(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await channel.unary_unary(f"/{SERVICE}/Nothing")(b"x")
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert not scrape_this_process().has("callscope_grpc_server_requests_total", method="Nothing")
