"""Starts the five Callscope services as real processes for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.infra import Infra

SERVICES = ("gateway", "ingest", "transcription", "analysis", "sftp")
STARTUP_TIMEOUT_S = 120.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningServices:
    """The processes, their ports, their logs and the demo credentials the gateway made."""

    http_port: int
    grpc_ports: dict[str, int]
    log_dir: Path
    database: str
    bucket: str
    # Where each service but the gateway serves /metrics (the gateway: on its HTTP port).
    metrics_ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)
    infra: Infra | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        """Base URL of the REST API."""
        return f"http://127.0.0.1:{self.http_port}"

    def metrics_url(self, service: str) -> str:
        """The address Prometheus would scrape a service at."""
        if service == "gateway":
            return f"{self.gateway_url}/metrics"
        return f"http://127.0.0.1:{self.metrics_ports[service]}/metrics"

    @property
    def api_key(self) -> str:
        """The demo campaign's API key."""
        return self.credentials["api_key"]

    def log_tail(self, service: str, lines: int = 40) -> str:
        """The end of a service's log, for failure messages."""
        path = self.log_dir / f"{service}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def kill(self, service: str) -> None:
        """SIGKILL one service (a crash: no clean-up of any kind) and wait for it to die."""
        process = self.processes[service]
        process.kill()
        process.wait()

    def restart(self, service: str) -> None:
        """Starts a killed or stopped service again with the same settings and port.

        Health is not awaited: the tests that restart a service wait for its effects.
        """
        assert self.processes[service].poll() is not None, f"{service} is still running"
        self.processes[service] = self._spawn(service, self.log_dir / f"{service}.log", "ab")

    @contextlib.contextmanager
    def extra_sftp_replica(
        self, replica_id: str, settings: dict[str, str] | None = None
    ) -> Iterator[Path]:
        """A second sftp service process on the same database and SFTP server (its own gRPC
        port, no metrics), until the block ends; yields its log file."""
        log = self.log_dir / f"sftp-{replica_id}.log"
        overrides = {
            "SFTP_GRPC_PORT": str(free_port()),
            "SFTP_METRICS_PORT": "0",
            "SFTP_REPLICA_ID": replica_id,
            **(settings or {}),
        }
        process = self._spawn("sftp", log, "wb", overrides)
        try:
            yield log
        finally:
            terminate(process)

    def spawn_replica(
        self, service: str, replica_id: str, settings: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Another process of a service in the same consumer group (its own gRPC port, no
        metrics, log `<service>-<replica_id>.log`); the caller stops it."""
        overrides = {
            f"{service.upper()}_GRPC_PORT": str(free_port()),
            f"{service.upper()}_METRICS_PORT": "0",
            **(settings or {}),
        }
        return self._spawn(service, self.log_dir / f"{service}-{replica_id}.log", "wb", overrides)

    async def unhealthy(self) -> list[str]:
        """The services that do not answer their health check right now."""
        failing = []
        for service in SERVICES:
            healthy = (
                await _http_serving(self.gateway_url)
                if service == "gateway"
                else await _grpc_serving(self.grpc_ports[service])
            )
            if not healthy:
                failing.append(service)
        return failing

    def _spawn(
        self,
        service: str,
        log_path: Path,
        mode: str,
        overrides: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        assert self.infra is not None
        with log_path.open(mode) as log:
            return subprocess.Popen(
                [str(Path(sys.executable).parent / f"callscope-{service}")],
                env={**_environment(self.infra, self, service), **(overrides or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        """SIGTERM every process, then SIGKILL what has not exited."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def terminate(process: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    """SIGTERM a process (it shuts down cleanly), SIGKILL it if it has not exited in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _environment(infra: Infra, running: RunningServices, service: str) -> dict[str, str]:
    ports = running.grpc_ports
    peers = {
        "DIRECTORY_ADDR": f"127.0.0.1:{ports['gateway']}",
        "INGEST_ADDR": f"127.0.0.1:{ports['ingest']}",
        "TRANSCRIPTS_ADDR": f"127.0.0.1:{ports['transcription']}",
        "ANALYSES_ADDR": f"127.0.0.1:{ports['analysis']}",
        "SFTP_ADDR": f"127.0.0.1:{ports['sftp']}",
    }
    prefix = service.upper()
    own = {
        f"{prefix}_GRPC_PORT": str(ports[service]),
        f"{prefix}_CONSUMER_GROUP": f"{service}-{running.database}",
        # Ingest's watchdog waits while these stages' groups have records queued.
        "INGEST_WATCHDOG_STAGE_GROUPS": ",".join(
            f"{stage}-{running.database}" for stage in ("transcription", "analysis")
        ),
        "LOG_LEVEL": "INFO",
    }
    # OpenTelemetry's standard variables (OTEL_...) are every service's settings.
    own.update(
        {k: v for k, v in running.extra_env.items() if k.startswith((prefix + "_", "OTEL_"))}
    )
    if service == "gateway":
        own["GATEWAY_HTTP_PORT"] = str(running.http_port)
        own["GATEWAY_DEMO_CREDENTIALS_FILE"] = str(running.log_dir / "demo-credentials.json")
    if service in running.metrics_ports:
        own[f"{prefix}_METRICS_PORT"] = str(running.metrics_ports[service])
    return {
        **os.environ,
        **infra.environment(database=running.database, bucket=running.bucket),
        **peers,
        **own,
    }


async def _grpc_serving(port: int) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=2
            )
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def _http_serving(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(url + "/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def start_services(
    infra: Infra, log_dir: Path, run_id: str, extra_env: dict[str, str] | None = None
) -> RunningServices:
    """Starts every service and returns once each reports healthy (or raises with its log).

    extra_env holds service settings (`INGEST_...`, `GATEWAY_...`) for this run, and
    OpenTelemetry's `OTEL_...` variables for all of them.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    running = RunningServices(
        extra_env=dict(extra_env or {}),
        http_port=free_port(),
        grpc_ports={service: free_port() for service in SERVICES},
        metrics_ports={service: free_port() for service in SERVICES if service != "gateway"},
        log_dir=log_dir,
        database=f"e2e_{run_id}",
        bucket=f"e2e-{run_id}",
        infra=infra,
    )
    for service in SERVICES:
        # Popen, not asyncio's subprocesses: teardown must work outside the loop.
        running.processes[service] = running._spawn(service, log_dir / f"{service}.log", "wb")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    pending = set(SERVICES)
    while pending:
        for service in sorted(pending):
            process = running.processes[service]
            if process.poll() is not None:
                running.stop()
                raise RuntimeError(f"{service} exited at start:\n{running.log_tail(service)}")
            healthy = (
                await _http_serving(running.gateway_url)
                if service == "gateway"
                else await _grpc_serving(running.grpc_ports[service])
            )
            if healthy:
                pending.discard(service)
        if time.monotonic() > deadline:
            running.stop()
            tails = "\n".join(f"--- {s}\n{running.log_tail(s)}" for s in sorted(pending))
            raise RuntimeError(f"services not healthy in time: {sorted(pending)}\n{tails}")
        await asyncio.sleep(0.5)
    running.credentials = json.loads((log_dir / "demo-credentials.json").read_text())
    return running
