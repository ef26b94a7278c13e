"""`callscope-healthcheck`: asks a service's standard gRPC health service whether it serves.

Made for container HEALTHCHECKs and compose healthchecks: exits 0 when the server answers
SERVING, 1 otherwise, and prints one line saying which. It imports nothing but grpc, so a
check every few seconds costs little.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEFAULT_HOST = "127.0.0.1"
DEFAULT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class HealthResult:
    """The verdict of one check and the line that explains it."""

    healthy: bool
    message: str


def resolve_address(target: str, port_override: str = "") -> str:
    """`50052` → `127.0.0.1:50052`; `host:port` is kept; a non-empty port_override wins."""
    if target.isdigit():
        host, port = DEFAULT_HOST, target
    else:
        host, sep, port = target.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"{target!r} is neither a port nor host:port (e.g. 127.0.0.1:50052)")
    if port_override:
        if not port_override.isdigit():
            raise ValueError(f"the port override {port_override!r} is not a port number")
        port = port_override
    return f"{host}:{port}"


async def check_health(
    address: str, service: str = "", timeout_s: float = DEFAULT_TIMEOUT_S
) -> HealthResult:
    """Calls grpc.health.v1.Health/Check on address for service ("" = the whole server)."""
    shown = f"{address} ({service or 'server'})"
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = await stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as error:
            return HealthResult(False, f"unhealthy: {shown}: {error.code().name} {error.details()}")
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    if response.status == health_pb2.HealthCheckResponse.SERVING:
        return HealthResult(True, f"healthy: {shown} is SERVING")
    return HealthResult(False, f"unhealthy: {shown} is {status}")


def main(argv: Sequence[str] | None = None) -> int:
    """Parses the target, checks it, prints the verdict; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="callscope-healthcheck",
        description="Exit 0 if the gRPC health service at TARGET answers SERVING, else 1.",
    )
    parser.add_argument("target", help=f"a port (on {DEFAULT_HOST}) or host:port")
    parser.add_argument("--service", default="", help="a service name; default: the server")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds")
    parser.add_argument(
        "--port-env",
        metavar="VAR",
        default="",
        help="an environment variable (e.g. INGEST_GRPC_PORT) whose value, when set, is the port",
    )
    args = parser.parse_args(argv)
    try:
        address = resolve_address(
            args.target, os.environ.get(args.port_env, "") if args.port_env else ""
        )
    except ValueError as error:
        print(f"unhealthy: {error}")
        return 1
    result = asyncio.run(check_health(address, args.service, args.timeout))
    print(result.message)
    return 0 if result.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
