"""gRPC interceptors that carry the W3C trace context between services.

The client side opens a CLIENT span per call and sends its context in the call's
metadata; the server side reads it back and runs the method inside a SERVER span that
is that span's child. All four call shapes are covered: Ingest.UploadCall streams both
ways and ReadAudio streams its answer.

`callscope_common.grpc_server` installs these only when traces are on: grpc.aio routes
every message of an intercepted streaming call through an extra queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import grpc
from google.protobuf import message as protobuf_message
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from callscope_common.grpc_wrapping import BehaviourWrapper, rewrapped
from callscope_common.tracing import (
    CALL_ID_ATTRIBUTE,
    CAMPAIGN_ID_ATTRIBUTE,
    extract_context,
    trace_context_pairs,
)

# Probes call these every few seconds; their spans would only be noise.
_UNTRACED_PREFIX = "/grpc.health.v1.Health/"
# Codes that mean the server failed (OpenTelemetry's RPC conventions); the others are
# the caller's problem (NOT_FOUND, INVALID_ARGUMENT, ...) and leave the span's status unset.
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)

Behavior = Callable[[Any, Any], Any]
# Request fields whose value a server span records.
_ID_ATTRIBUTES = (("call_id", CALL_ID_ATTRIBUTE), ("campaign_id", CAMPAIGN_ID_ATTRIBUTE))


def _describe_request(span: Span, request: Any) -> None:
    """Names the call and campaign a single request message is about (ids only); a
    streamed request is an iterator and names nothing here."""
    if not isinstance(request, protobuf_message.Message):
        return
    fields = request.DESCRIPTOR.fields_by_name
    for field, attribute in _ID_ATTRIBUTES:
        value = getattr(request, field) if field in fields else None
        if isinstance(value, str) and value:
            span.set_attribute(attribute, value)


def _rpc_attributes(method: str) -> dict[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


class _ClientTracing:
    """Shared by the four client interceptors: the span and the metadata that carries it."""

    def __init__(self, tracer_provider: TracerProvider | None) -> None:
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def _traced(self, continuation: Any, details: Any, request: Any) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        span = self._tracer.start_span(
            method.lstrip("/"), kind=SpanKind.CLIENT, attributes=_rpc_attributes(method)
        )
        with trace.use_span(span, end_on_exit=False):
            metadata = grpc.aio.Metadata(*(details.metadata or ()), *trace_context_pairs())
        try:
            call = await continuation(details._replace(metadata=metadata), request)
        except BaseException:
            span.end()
            raise
        # The call object is handed back at once; the span lasts until the RPC is over.
        call.add_done_callback(lambda _: span.end())
        return call


class _UnaryUnaryTracing(_ClientTracing, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]  # grpc is untyped
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        """Sends the request with the trace context in its metadata."""
        return await self._traced(continuation, details, request)


class _UnaryStreamTracing(_ClientTracing, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        """Sends the request with the trace context in its metadata."""
        return await self._traced(continuation, details, request)


class _StreamUnaryTracing(_ClientTracing, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        """Opens the stream with the trace context in its metadata."""
        return await self._traced(continuation, details, requests)


class _StreamStreamTracing(_ClientTracing, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        """Opens the stream with the trace context in its metadata."""
        return await self._traced(continuation, details, requests)


def client_interceptors(tracer_provider: TracerProvider | None = None) -> list[Any]:
    """One tracing interceptor per call shape, for `grpc.aio.insecure_channel`."""
    return [
        interceptor(tracer_provider)
        for interceptor in (
            _UnaryUnaryTracing,
            _UnaryStreamTracing,
            _StreamUnaryTracing,
            _StreamStreamTracing,
        )
    ]


class ServerTracingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Runs each method inside a SERVER span, the child of the caller's span if it sent one."""

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        """The method's handler with each of its behaviours wrapped in a span."""
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(_UNTRACED_PREFIX):
            return handler
        metadata = details.invocation_metadata or ()
        return rewrapped(handler, _Traced(self, method, metadata))

    @contextlib.contextmanager
    def server_span(self, method: str, metadata: Any, context: Any, request: Any) -> Iterator[None]:
        with self._tracer.start_as_current_span(
            method.lstrip("/"),
            context=extract_context(metadata),
            kind=SpanKind.SERVER,
            attributes=_rpc_attributes(method),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            _describe_request(span, request)
            try:
                yield
            except grpc.aio.AbortError:
                raise  # an answer with a status code, read below
            except Exception as error:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise
            finally:
                code = context.code()
                if isinstance(code, grpc.StatusCode):
                    span.set_attribute("rpc.grpc.status_code", code.value[0])
                    if code in _SERVER_FAULTS:
                        span.set_status(Status(StatusCode.ERROR, code.name))


class _Traced(BehaviourWrapper):
    """Wraps one call's behaviour in its SERVER span."""

    def __init__(self, interceptor: ServerTracingInterceptor, method: str, metadata: Any) -> None:
        self._interceptor = interceptor
        self._method = method
        self._metadata = metadata

    def answer(self, behaviour: Behavior) -> Behavior:
        """A behaviour that returns one answer, run in the span."""

        async def traced(request: Any, context: Any) -> Any:
            with self._span(context, request):
                awaitable: Awaitable[Any] = behaviour(request, context)
                return await awaitable

        return traced

    def stream(self, behaviour: Behavior) -> Behavior:
        """A streaming behaviour, every answer sent inside the span."""

        async def traced_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            with self._span(context, request):
                async for response in behaviour(request, context):
                    yield response

        return traced_stream

    def _span(self, context: Any, request: Any) -> contextlib.AbstractContextManager[None]:
        return self._interceptor.server_span(self._method, self._metadata, context, request)
