"""A real grpc.aio server of byte-in, byte-out probe methods, for testing interceptors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc


def _identity(value: bytes) -> bytes:
    return value


@contextlib.asynccontextmanager
async def byte_rpc_channel(
    service: str,
    behaviours: dict[str, tuple[Callable[..., Any], Callable[..., Any]]],
    interceptors: Sequence[grpc.aio.ServerInterceptor],
) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a loopback server with the interceptors, serving each method of
    `behaviours` (name → (grpc.*_rpc_method_handler, behaviour)) with raw bytes."""
    server = grpc.aio.server(interceptors=list(interceptors))
    plain = {"request_deserializer": _identity, "response_serializer": _identity}
    handlers = {name: kind(behaviour, **plain) for name, (kind, behaviour) in behaviours.items()}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as opened:
            yield opened
    finally:
        await server.stop(None)
