"""Rebuilds a gRPC method handler around its behaviour, for server interceptors."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, Any], Any]


class BehaviourWrapper:
    """What an interceptor puts around a method's behaviour, by the shape of its answer."""

    def answer(self, behaviour: Behaviour) -> Behaviour:
        """A behaviour that returns one answer (unary or client-streaming)."""
        raise NotImplementedError

    def stream(self, behaviour: Behaviour) -> Behaviour:
        """A behaviour that streams its answers as an async generator."""
        raise NotImplementedError


def rewrapped(handler: Any, wrapper: BehaviourWrapper) -> Any:
    """handler with its behaviour wrapped; a streaming behaviour that writes its answers
    with `context.write` (a coroutine, not a generator) is wrapped as an answer."""
    options = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(wrapper.answer(handler.unary_unary), **options)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(wrapper.answer(handler.stream_unary), **options)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _streamed(wrapper, handler.unary_stream), **options
        )
    return grpc.stream_stream_rpc_method_handler(
        _streamed(wrapper, handler.stream_stream), **options
    )


def _streamed(wrapper: BehaviourWrapper, behaviour: Behaviour) -> Behaviour:
    if inspect.isasyncgenfunction(behaviour):
        return wrapper.stream(behaviour)
    return wrapper.answer(behaviour)


class WrappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """A server interceptor that puts a BehaviourWrapper around every method it serves."""

    def wrapper_for(self, method: str) -> BehaviourWrapper:
        """The wrapper for one call of the method (`/package.Service/Method`)."""
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        handler_call_details: Any,
    ) -> Any:
        """The method's handler, its behaviour wrapped; unknown methods pass through."""
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return rewrapped(handler, self.wrapper_for(str(handler_call_details.method)))
