"""Faults while calls flow: no call lost, none doubled, every call ends in exactly one state.

Each test sends 200 distinct calls through a fresh campaign (API uploads, a bulk CSV job,
and for the sftp test the SFTP drop folder) and injects one fault once 30 % of them are
acknowledged. After the drain it checks every guarantee (tests/faults/pipeline_audit.py)
and adds a row to the table printed at the end of the run. Only the provider outages may
leave FAILED calls, and only with the reason that names the provider.
"""

from __future__ import annotations

import pytest

from tests.faults.injected_faults import (
    S3_DOWN_S,
    claude_outage,
    deepgram_outage,
    kill_server,
    kill_service,
    scale_transcription_up_and_down,
    sigterm_transcription_mid_call,
)
from tests.faults.scenario import World, failed_with, run_scenario

# A scenario takes minutes (200 calls and their drain), more on a busy machine.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(2400)]


def _assert_kept(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} broken guarantee(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("service", ["gateway", "ingest", "transcription", "analysis"])
async def test_a_killed_service_loses_and_doubles_nothing(world: World, service: str) -> None:
    _assert_kept(await run_scenario(world, f"kill -9 {service}", kill_service(service)))


async def test_a_killed_sftp_service_loses_and_doubles_nothing(world: World) -> None:
    if world.sftp_server is None:
        pytest.skip("no SFTP server on this machine (sshd needs root)")
    _assert_kept(await run_scenario(world, "kill -9 sftp", kill_service("sftp"), with_sftp=True))


async def test_a_killed_and_restarted_kafka_broker_loses_nothing(world: World) -> None:
    _assert_kept(await run_scenario(world, "kill -9 Kafka, restart", kill_server("kafka")))


async def test_a_killed_and_restarted_mongodb_wire_server_loses_nothing(world: World) -> None:
    _assert_kept(await run_scenario(world, "kill -9 FerretDB, restart", kill_server("ferretdb")))


async def test_s3_unavailable_for_30_seconds_loses_nothing(world: World) -> None:
    name = f"MinIO down {S3_DOWN_S:.0f} s (kill -9, restart)"
    _assert_kept(await run_scenario(world, name, kill_server("minio", S3_DOWN_S)))


async def test_an_overloaded_claude_fails_calls_only_with_its_reason(world: World) -> None:
    problems = await run_scenario(
        world,
        "Claude 529 for 20 s",
        claude_outage(),
        failure_allowed=failed_with(r"Claude is unavailable \(HTTP 529"),
    )
    _assert_kept(problems)


async def test_an_unavailable_deepgram_fails_calls_only_with_its_reason(world: World) -> None:
    problems = await run_scenario(
        world,
        "Deepgram 503 for 20 s",
        deepgram_outage(),
        failure_allowed=failed_with(r"Deepgram is unavailable \(HTTP 503"),
    )
    _assert_kept(problems)


async def test_sigterm_mid_call_abandons_it_cleanly_and_it_is_redone(world: World) -> None:
    _assert_kept(
        await run_scenario(world, "SIGTERM transcription mid-call", sigterm_transcription_mid_call)
    )


async def test_scaling_transcription_up_and_down_mid_flow_loses_nothing(world: World) -> None:
    _assert_kept(
        await run_scenario(
            world, "transcription 1 → 2 → 1 replicas", scale_transcription_up_and_down
        )
    )
