"""The trace context crosses a real gRPC connection in metadata, for every call shape: the
server's span is the child of the client's, which is the child of the caller's span."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from callscope.v1 import ingest_pb2
from callscope_common.grpc_tracing import ServerTracingInterceptor, client_interceptors
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.polling import wait_for

SERVICE = "test.TraceProbe"


async def _answer(request: bytes, context: Any) -> bytes:
    if request == b"missing":
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    if request == b"crash":
        raise ValueError("a bug")
    return _current_trace_id()


async def _repeat(request: bytes, context: Any) -> AsyncIterator[bytes]:
    yield _current_trace_id()
    yield request


async def _gather(requests: AsyncIterator[bytes], context: Any) -> bytes:
    return b"".join([request async for request in requests]) + _current_trace_id()


async def _chat(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request + _current_trace_id()


async def _look_up(request: ingest_pb2.GetCallRequest, context: Any) -> bytes:
    return request.call_id.encode()


def _current_trace_id() -> bytes:
    """What the servicer sees as its trace: answered so the test can compare."""
    return trace.format_trace_id(trace.get_current_span().get_span_context().trace_id).encode()


def _identity(value: bytes) -> bytes:
    return value


@dataclass
class Traced:
    """A channel to a traced server, and the spans both ends finished."""

    channel: grpc.aio.Channel
    exporter: InMemorySpanExporter
    provider: TracerProvider

    async def finished(self, kind: SpanKind) -> list[ReadableSpan]:
        """The spans of that kind once there are any: a span ends as its side's code
        unwinds, which may be just after the other side saw the answer (an abort sends
        its status first)."""

        async def ended() -> list[ReadableSpan]:
            return [span for span in self.exporter.get_finished_spans() if span.kind == kind]

        return await wait_for(ended, timeout_s=10, describe=f"a {kind.name} span")


@pytest.fixture
async def traced() -> AsyncIterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server = grpc.aio.server(interceptors=[ServerTracingInterceptor(provider)])
    plain = {"request_deserializer": _identity, "response_serializer": _identity}
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE,
                {
                    "Answer": grpc.unary_unary_rpc_method_handler(_answer, **plain),
                    "Repeat": grpc.unary_stream_rpc_method_handler(_repeat, **plain),
                    "Gather": grpc.stream_unary_rpc_method_handler(_gather, **plain),
                    "Chat": grpc.stream_stream_rpc_method_handler(_chat, **plain),
                    "LookUp": grpc.unary_unary_rpc_method_handler(
                        _look_up,
                        request_deserializer=ingest_pb2.GetCallRequest.FromString,
                        response_serializer=_identity,
                    ),
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", interceptors=client_interceptors(provider)
        ) as channel:
            yield Traced(channel, exporter, provider)
    finally:
        await server.stop(None)


async def _requests(*values: bytes) -> AsyncIterator[bytes]:
    for value in values:
        yield value


async def _call(channel: grpc.aio.Channel, shape: str) -> list[bytes]:
    method = f"/{SERVICE}/{shape}"
    if shape == "Answer":
        return [await channel.unary_unary(method)(b"hello")]
    if shape == "Repeat":
        return [reply async for reply in channel.unary_stream(method)(b"hello")]
    if shape == "Gather":
        return [await channel.stream_unary(method)(_requests(b"a", b"b"))]
    # The upload's style: writes and reads on the call object, no request iterator.
    call = channel.stream_stream(method)()
    await call.write(b"a:")
    first = await call.read()
    await call.done_writing()
    return [first, *[reply async for reply in call]]


@pytest.mark.parametrize("shape", ["Answer", "Repeat", "Gather", "Chat"])
async def test_server_span_continues_the_callers_trace(traced: Traced, shape: str) -> None:
    with traced.provider.get_tracer("test").start_as_current_span("caller") as caller:
        replies = await _call(traced.channel, shape)
    trace_id = caller.get_span_context().trace_id
    assert any(trace.format_trace_id(trace_id).encode() in reply for reply in replies)

    (client,) = await traced.finished(SpanKind.CLIENT)
    (server,) = await traced.finished(SpanKind.SERVER)
    assert client.name == server.name == f"{SERVICE}/{shape}"
    assert client.context.trace_id == server.context.trace_id == trace_id
    assert client.parent is not None and client.parent.span_id == caller.get_span_context().span_id
    assert server.parent is not None and server.parent.span_id == client.context.span_id
    assert server.attributes is not None and server.attributes["rpc.method"] == shape


async def test_a_call_without_a_caller_span_starts_its_own_trace(traced: Traced) -> None:
    await traced.channel.unary_unary(f"/{SERVICE}/Answer")(b"hello")

    (client,) = await traced.finished(SpanKind.CLIENT)
    (server,) = await traced.finished(SpanKind.SERVER)
    assert client.parent is None
    assert server.parent is not None and server.parent.span_id == client.context.span_id


async def test_a_refusal_is_recorded_without_marking_the_server_failed(traced: Traced) -> None:
    with pytest.raises(grpc.aio.AioRpcError):
        await traced.channel.unary_unary(f"/{SERVICE}/Answer")(b"missing")

    (server,) = await traced.finished(SpanKind.SERVER)
    assert server.attributes is not None
    assert server.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert server.status.status_code == StatusCode.UNSET


async def test_a_servicer_crash_marks_the_server_span_failed(traced: Traced) -> None:
    with pytest.raises(grpc.aio.AioRpcError):
        await traced.channel.unary_unary(f"/{SERVICE}/Answer")(b"crash")

    (server,) = await traced.finished(SpanKind.SERVER)
    assert server.status.status_code == StatusCode.ERROR
    assert [event.name for event in server.events] == ["exception"]


async def test_the_server_span_names_the_call_a_request_is_about(traced: Traced) -> None:
    request = ingest_pb2.GetCallRequest(org_id="org-1", call_id="call-1")
    await traced.channel.unary_unary(f"/{SERVICE}/LookUp")(request.SerializeToString())

    (server,) = await traced.finished(SpanKind.SERVER)
    assert server.attributes is not None
    assert server.attributes["callscope.call_id"] == "call-1"
    assert "callscope.campaign_id" not in server.attributes
