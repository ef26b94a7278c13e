"""gRPC server and channel factories; every server carries the standard health service."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from callscope_common.grpc_metrics import GrpcServerMetrics
from callscope_common.grpc_outages import OutagesAsUnavailable
from callscope_common.grpc_tracing import ServerTracingInterceptor, client_interceptors
from callscope_common.tracing import tracing_enabled

# Channel and server limits sized for 1 MiB audio chunks with headroom.
_MESSAGE_LIMIT = 8 * 1024 * 1024
_OPTIONS = [
    ("grpc.max_send_message_length", _MESSAGE_LIMIT),
    ("grpc.max_receive_message_length", _MESSAGE_LIMIT),
]


def create_server(
    port: int,
    host: str = "0.0.0.0",
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A grpc.aio server bound to host:port with the health service registered.

    Every call is counted and timed (GrpcServerMetrics) inside the given interceptors,
    which see each call first; innermost, a failure caused by an unreachable server is
    answered UNAVAILABLE (OutagesAsUnavailable), so the metrics and the caller see that.
    """
    # With traces on, each call runs in a span continuing the caller's trace (outermost).
    tracing = [ServerTracingInterceptor()] if tracing_enabled() else []
    server = grpc.aio.server(
        options=_OPTIONS,
        interceptors=[*tracing, *interceptors, GrpcServerMetrics(), OutagesAsUnavailable()],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_insecure_port(f"{host}:{port}")
    return server, health_servicer


async def mark_serving(health_servicer: health.aio.HealthServicer, *services: str) -> None:
    """Marks the overall server and the named services as SERVING."""
    for name in ("", *services):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


def create_channel(address: str) -> grpc.aio.Channel:
    """An insecure channel to a peer inside the cluster (TLS is the mesh's job).

    With traces on, every call sends the current trace context in its metadata.
    """
    interceptors = client_interceptors() if tracing_enabled() else None
    return grpc.aio.insecure_channel(address, options=_OPTIONS, interceptors=interceptors)
