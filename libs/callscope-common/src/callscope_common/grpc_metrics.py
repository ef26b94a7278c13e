"""A gRPC server interceptor that counts and times every call by service, method and code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from callscope_common.grpc_wrapping import BehaviourWrapper, WrappingInterceptor
from callscope_common.metrics import GRPC_SERVER_REQUESTS, GRPC_SERVER_SECONDS


class GrpcServerMetrics(WrappingInterceptor):
    """Records callscope_grpc_server_requests_total and callscope_grpc_server_seconds.

    The status code is the one the handler left on its context (by `abort` or
    `set_code`); an exception without one is UNKNOWN, as gRPC answers it, and a call
    the client cancelled is CANCELLED. Unknown methods are not counted: gRPC answers
    them UNIMPLEMENTED before any handler runs.
    """

    def wrapper_for(self, method: str) -> BehaviourWrapper:
        """A recorder of the method's calls, labelled by service and method name."""
        service, _, name = method.lstrip("/").rpartition("/")
        return _Recorder(service or "unknown", name)


class _Recorder(BehaviourWrapper):
    """Wraps one method's behaviour; records each call's code and duration."""

    def __init__(self, service: str, method: str) -> None:
        self._service = service
        self._method = method

    def answer(self, behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """A behaviour that returns one answer (unary or client-streaming)."""

        async def recorded(request: Any, context: Any) -> Any:
            started = time.perf_counter()
            try:
                reply = await behaviour(request, context)
            except BaseException as error:
                self._done(context, started, error)
                raise
            self._done(context, started, None)
            return reply

        return recorded

    def stream(self, behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """A behaviour that streams its answers as an async generator."""

        async def recorded(request: Any, context: Any) -> AsyncIterator[Any]:
            started = time.perf_counter()
            try:
                async for reply in behaviour(request, context):
                    yield reply
            except BaseException as error:
                self._done(context, started, error)
                raise
            self._done(context, started, None)

        return recorded

    def _done(self, context: Any, started: float, error: BaseException | None) -> None:
        code = context.code()
        if code is None:
            if error is None:
                code = grpc.StatusCode.OK
            elif isinstance(error, asyncio.CancelledError | GeneratorExit):
                code = grpc.StatusCode.CANCELLED
            else:
                code = grpc.StatusCode.UNKNOWN
        GRPC_SERVER_REQUESTS.labels(self._service, self._method, code.name).inc()
        GRPC_SERVER_SECONDS.labels(self._service, self._method).observe(
            time.perf_counter() - started
        )
