"""What the API answers when a peer is down or the gateway itself fails: the API's error
shape with a code, never a bare 'Internal Server Error' page or a trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import grpc
import httpx
import pytest
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.errors import SERVICE_UNAVAILABLE_RETRY_S, from_rpc
from callscope_gateway.entrypoints.http_api import create_app


@pytest.fixture
async def broken_gateway() -> AsyncIterator[httpx.AsyncClient]:
    # A context with nothing in it: any route that reaches a store fails unexpectedly.
    app = create_app(cast(ApiContext, object()))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_an_unexpected_failure_is_a_json_500_without_details(
    broken_gateway: httpx.AsyncClient,
) -> None:
    answer = await broken_gateway.get(
        "/api/v1/calls", headers={"X-API-Key": "cs_live_0123456789abcdef0123456789abcdef"}
    )
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == "internal_error"
    assert "Traceback" not in answer.text and "AttributeError" not in answer.text


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_peer_that_is_down_or_too_slow_is_a_503_to_retry(code: grpc.StatusCode) -> None:
    failure = grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "busy")
    error = from_rpc(failure, service="ingest")
    assert error.code == "service_unavailable"
    assert error.message == "ingest is unavailable; try again shortly"
    assert error.retry_after_s == SERVICE_UNAVAILABLE_RETRY_S


def test_a_peer_bug_is_not_disguised_as_an_outage() -> None:
    failure = grpc.aio.AioRpcError(
        grpc.StatusCode.UNKNOWN, grpc.aio.Metadata(), grpc.aio.Metadata(), "Unexpected"
    )
    with pytest.raises(grpc.aio.AioRpcError):
        from_rpc(failure, service="ingest")
