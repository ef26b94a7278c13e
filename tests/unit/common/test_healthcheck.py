"""`callscope-healthcheck` against a real grpc.aio server carrying the standard health service."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator

import grpc
import pytest
from callscope_common.grpc_server import create_server, mark_serving
from callscope_common.healthcheck import check_health, resolve_address
from grpc_health.v1 import health, health_pb2

SERVICE = "callscope.v1.Probe"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, health.aio.HealthServicer]]:
    """A server as the services build it (create_server), not yet marked SERVING."""
    port = _free_port()
    grpc_server, health_servicer = create_server(port, host="127.0.0.1")
    await grpc_server.start()
    try:
        yield port, health_servicer
    finally:
        await grpc_server.stop(grace=None)


async def _run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Runs the console script's module in a child process; its exit status and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callscope_common.healthcheck",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode().strip()


def test_a_bare_port_means_loopback() -> None:
    assert resolve_address("50052") == "127.0.0.1:50052"
    assert resolve_address("ingest:50052") == "ingest:50052"
    with pytest.raises(ValueError, match="neither a port nor host:port"):
        resolve_address("ingest")


def test_a_port_override_replaces_the_port() -> None:
    assert resolve_address("50052", "6000") == "127.0.0.1:6000"
    assert resolve_address("ingest:50052", "6000") == "ingest:6000"
    assert resolve_address("50052", "") == "127.0.0.1:50052"
    with pytest.raises(ValueError, match="not a port number"):
        resolve_address("50052", "sixty")


async def test_serving_after_mark_serving(server: tuple[int, health.aio.HealthServicer]) -> None:
    port, health_servicer = server
    await mark_serving(health_servicer, SERVICE)

    result = await check_health(f"127.0.0.1:{port}")
    named = await check_health(f"127.0.0.1:{port}", SERVICE)

    assert result.healthy, result.message
    assert result.message == f"healthy: 127.0.0.1:{port} (server) is SERVING"
    assert named.healthy, named.message


async def test_not_serving_is_unhealthy(server: tuple[int, health.aio.HealthServicer]) -> None:
    port, health_servicer = server
    await health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)

    result = await check_health(f"127.0.0.1:{port}")

    assert not result.healthy
    assert result.message == f"unhealthy: 127.0.0.1:{port} (server) is NOT_SERVING"


async def test_unknown_service_is_unhealthy(server: tuple[int, health.aio.HealthServicer]) -> None:
    port, health_servicer = server
    await mark_serving(health_servicer)

    result = await check_health(f"127.0.0.1:{port}", "callscope.v1.Nothing")

    assert not result.healthy
    assert grpc.StatusCode.NOT_FOUND.name in result.message


async def test_no_server_is_unhealthy_within_the_timeout() -> None:
    result = await check_health(f"127.0.0.1:{_free_port()}", timeout_s=1.0)

    assert not result.healthy
    assert result.message.startswith("unhealthy: ")
    assert "\n" not in result.message


async def test_exit_status_and_one_line(server: tuple[int, health.aio.HealthServicer]) -> None:
    port, health_servicer = server

    before = await _run_cli(str(port), "--service", SERVICE, "--timeout", "2")
    await mark_serving(health_servicer, SERVICE)
    after = await _run_cli(str(port), "--service", SERVICE)

    # Before mark_serving the server knows no status for the service yet (NOT_FOUND): that,
    # not the whole server's status (SERVING from the start), is what says it is ready.
    assert before[0] == 1
    assert before[1].startswith("unhealthy: ") and "\n" not in before[1]
    assert after == (0, f"healthy: 127.0.0.1:{port} ({SERVICE}) is SERVING")


async def test_the_port_env_var_is_followed(server: tuple[int, health.aio.HealthServicer]) -> None:
    port, health_servicer = server
    await mark_serving(health_servicer)

    # The image's HEALTHCHECK names the default port and the variable that may move it.
    moved = await _run_cli("1", "--port-env", "PROBE_GRPC_PORT", env={"PROBE_GRPC_PORT": str(port)})
    unset = await _run_cli(str(port), "--port-env", "PROBE_GRPC_PORT_UNSET")

    assert moved == (0, f"healthy: 127.0.0.1:{port} (server) is SERVING")
    assert unset[0] == 0
