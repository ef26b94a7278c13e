"""The faults the scenarios inject. Each returns a note on what happened, for the table.

A fault's own waits (how long a process stays dead, how long a provider is down) are the
fault's duration, not a test waiting for a condition.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

from tests.faults.scenario import Fault, Scenario
from tests.support.fake_deepgram import FakeDeepgram
from tests.support.polling import wait_for

SERVICE_DOWN_S = 3.0
SERVER_DOWN_S = 5.0
S3_DOWN_S = 30.0
PROVIDER_OUTAGE_S = 20.0
STOP_TIMEOUT_S = 30.0  # what a Kubernetes pod gets between SIGTERM and SIGKILL
HANG_S = 20.0  # the Deepgram request that is in flight when SIGTERM arrives
REPLICA_WORK = 3  # transcripts the second replica stores before it is stopped
LISTEN = "/v1/listen"


def kill_service(service: str) -> Fault:
    """SIGKILL one service, and start it again after SERVICE_DOWN_S."""

    async def inject(scenario: Scenario) -> str:
        services = scenario.world.services
        services.kill(service)
        await asyncio.sleep(SERVICE_DOWN_S)
        services.restart(service)
        return f"SIGKILL, started again after {SERVICE_DOWN_S:.0f} s"

    return inject


def kill_server(name: str, down_s: float = SERVER_DOWN_S) -> Fault:
    """SIGKILL one server (kafka, ferretdb, minio), and start it again after down_s."""

    async def inject(scenario: Scenario) -> str:
        servers = scenario.world.servers
        await servers.kill(name)
        await asyncio.sleep(down_s)
        took = await servers.start(name)
        return f"SIGKILL, started again after {down_s:.0f} s, answering {took:.1f} s later"

    return inject


def deepgram_outage(status: int = 503) -> Fault:
    """Every Deepgram request answers status for PROVIDER_OUTAGE_S."""

    async def inject(scenario: Scenario) -> str:
        scenario.world.deepgram.fail_for(PROVIDER_OUTAGE_S, status)
        await asyncio.sleep(PROVIDER_OUTAGE_S)
        return f"every Deepgram request answered {status} for {PROVIDER_OUTAGE_S:.0f} s"

    return inject


def claude_outage(status: int = 529) -> Fault:
    """Every Claude request answers status (overloaded_error) for PROVIDER_OUTAGE_S."""

    async def inject(scenario: Scenario) -> str:
        scenario.world.anthropic.fail_for(PROVIDER_OUTAGE_S, status)
        await asyncio.sleep(PROVIDER_OUTAGE_S)
        return f"every Claude request answered {status} for {PROVIDER_OUTAGE_S:.0f} s"

    return inject


async def sigterm_transcription_mid_call(scenario: Scenario) -> str:
    """SIGTERM the transcription service while a Deepgram request of a call hangs, wait for it
    to exit on its own, and start it again."""
    world = scenario.world
    hanging = await _hang_next_request(world.deepgram)
    process = world.services.processes["transcription"]
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = await _exit_code(process)
    took = time.monotonic() - started
    world.services.restart("transcription")
    if code != 0:
        raise AssertionError(f"transcription answered SIGTERM with exit status {code}")
    return f"SIGTERM while Deepgram request {hanging} hung: exited 0 in {took:.1f} s, started again"


async def scale_transcription_up_and_down(scenario: Scenario) -> str:
    """A second transcription replica joins the group, works, then gets SIGTERM."""
    services = scenario.world.services
    replica_id = f"replica-{scenario.slug}"
    log = services.log_dir / f"transcription-{replica_id}.log"
    replica = services.spawn_replica("transcription", replica_id)

    async def replica_stored() -> int:
        text = log.read_text(errors="replace") if log.exists() else ""
        stored = text.count('"transcript stored"')
        return stored if stored >= REPLICA_WORK else 0

    try:
        stored = await wait_for(
            replica_stored, timeout_s=180, interval_s=0.5, describe="the replica to do work"
        )
    finally:
        started = time.monotonic()
        replica.send_signal(signal.SIGTERM)
        code = await _exit_code(replica)
    if code != 0:
        raise AssertionError(f"the second replica answered SIGTERM with exit status {code}")
    return (
        f"a second replica joined mid-flow, stored {stored}+ transcripts, then SIGTERM: "
        f"exited 0 in {time.monotonic() - started:.1f} s"
    )


async def _hang_next_request(deepgram: FakeDeepgram) -> int:
    """Makes the next Deepgram request hang; returns its number once it has arrived."""
    before = len(deepgram.requests(LISTEN))
    deepgram.hang_next(1, HANG_S)

    async def arrived() -> int:
        return before + 1 if len(deepgram.requests(LISTEN)) > before else 0

    return await wait_for(arrived, timeout_s=120, describe="a Deepgram request to hang")


async def _exit_code(process: subprocess.Popen[bytes]) -> int | None:
    """The process's exit status once it has exited; None (and SIGKILL) after STOP_TIMEOUT_S."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            return None
        await asyncio.sleep(0.2)
    return process.returncode
