"""gRPC server and channel factories; every server carries the standard health service."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

# Channel and server limits sized for 1 MiB audio chunks with headroom.
_MESSAGE_LIMIT = 8 * 1024 * 1024
_OPTIONS = [
    ("grpc.max_send_message_length", _MESSAGE_LIMIT),
    ("grpc.max_receive_message_length", _MESSAGE_LIMIT),
]


def create_server(
    port: int, host: str = "0.0.0.0"
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A grpc.aio server bound to host:port with the health service registered."""
    server = grpc.aio.server(options=_OPTIONS)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_insecure_port(f"{host}:{port}")
    return server, health_servicer


async def mark_serving(health_servicer: health.aio.HealthServicer, *services: str) -> None:
    """Marks the overall server and the named services as SERVING."""
    for name in ("", *services):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


def create_channel(address: str) -> grpc.aio.Channel:
    """An insecure channel to a peer inside the cluster (TLS is the mesh's job)."""
    return grpc.aio.insecure_channel(address, options=_OPTIONS)
