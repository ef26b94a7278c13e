"""A call that fails because a server the service needs is down is answered UNAVAILABLE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from callscope_common.grpc_metrics import GrpcServerMetrics
from callscope_common.grpc_outages import UNAVAILABLE_MESSAGE, OutagesAsUnavailable
from pymongo import errors as mongo_errors

from tests.support.byte_rpc import byte_rpc_channel
from tests.support.scraped_metrics import scrape_this_process

SERVICE = "test.OutageProbe"


def _fail(request: bytes) -> None:
    if request == b"database-down":
        raise mongo_errors.ServerSelectionTimeoutError("no servers found")
    if request == b"wrapped":
        try:
            raise ConnectionRefusedError("connection refused")
        except ConnectionRefusedError as cause:
            raise RuntimeError("the store failed") from cause
    if request == b"bug":
        raise ValueError("a bug")


async def _answer(request: bytes, context: Any) -> bytes:
    if request == b"gone":
        try:
            _fail(b"database-down")
        except mongo_errors.ConnectionFailure:
            await context.abort(grpc.StatusCode.NOT_FOUND, "its own answer")
    _fail(request)
    return request


async def _repeat(request: bytes, context: Any) -> AsyncIterator[bytes]:
    yield b"first"
    _fail(request)
    yield b"second"


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    # In the order create_server gives them: the metrics see the status the guard sets.
    async with byte_rpc_channel(
        SERVICE,
        {
            "Answer": (grpc.unary_unary_rpc_method_handler, _answer),
            "Repeat": (grpc.unary_stream_rpc_method_handler, _repeat),
        },
        [GrpcServerMetrics(), OutagesAsUnavailable()],
    ) as opened:
        yield opened


async def _refusal(channel: grpc.aio.Channel, request: bytes) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await channel.unary_unary(f"/{SERVICE}/Answer")(request)
    return refused.value


@pytest.mark.parametrize("request_bytes", [b"database-down", b"wrapped"])
async def test_an_outage_is_answered_unavailable_with_a_message_to_retry(
    channel: grpc.aio.Channel, request_bytes: bytes
) -> None:
    before = scrape_this_process().value(
        "callscope_grpc_server_requests_total", service=SERVICE, method="Answer", code="UNAVAILABLE"
    )
    refusal = await _refusal(channel, request_bytes)
    assert refusal.code() == grpc.StatusCode.UNAVAILABLE
    assert refusal.details() == UNAVAILABLE_MESSAGE
    after = scrape_this_process().value(
        "callscope_grpc_server_requests_total", service=SERVICE, method="Answer", code="UNAVAILABLE"
    )
    assert after == before + 1


async def test_a_bug_is_still_unknown(channel: grpc.aio.Channel) -> None:
    assert (await _refusal(channel, b"bug")).code() == grpc.StatusCode.UNKNOWN


async def test_a_status_the_handler_set_itself_is_kept(channel: grpc.aio.Channel) -> None:
    refusal = await _refusal(channel, b"gone")
    assert refusal.code() == grpc.StatusCode.NOT_FOUND
    assert refusal.details() == "its own answer"


async def test_an_outage_mid_stream_ends_it_unavailable_after_what_was_sent(
    channel: grpc.aio.Channel,
) -> None:
    received: list[bytes] = []
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for reply in channel.unary_stream(f"/{SERVICE}/Repeat")(b"database-down"):
            received.append(reply)
    assert received == [b"first"]
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
