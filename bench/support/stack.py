"""The five services started for a pipeline benchmark, isolated from earlier runs' events."""

from __future__ import annotations

import os
from pathlib import Path

from bench.support.kafka_groups import KafkaProbe
from tests.support.infra import Infra
from tests.support.services import RunningServices, start_services

ROOT = Path(__file__).resolve().parents[2]
CONSUMING_SERVICES = ("ingest", "transcription", "analysis")
# The default 600 requests/min per API key would refuse the benchmarks' polling and bursts;
# they measure the pipeline, not the rate limiter.
UNLIMITED_RATE = {"GATEWAY_API_KEY_RATE_LIMIT_PER_MINUTE": "1000000"}


def data_dir() -> Path:
    """Where the stack this runs in keeps its data and logs."""
    return Path(os.environ.get("CALLSCOPE_DATA_DIR", ROOT / ".local" / "data" / "test"))


def consumer_group(running: RunningServices, service: str) -> str:
    """The consumer group a service's processes join in this run."""
    return f"{service}-{running.database}"


async def start_isolated(
    infra: Infra, probe: KafkaProbe, run_id: str, extra_env: dict[str, str] | None = None
) -> RunningServices:
    """Starts the services with their consumer groups committed at the topics' current ends.

    The stage topics are shared by every run against one stack, and a new group starts at
    the earliest record: without this a benchmark's services would first work through
    the events of earlier runs (earlier benchmarks of `make bench`, for one).
    """
    database = f"e2e_{run_id}"  # how start_services names a run's database (and so its groups)
    await probe.start_groups_at_end([f"{service}-{database}" for service in CONSUMING_SERVICES])
    log_dir = data_dir() / "logs" / f"bench-{run_id}"
    running = await start_services(infra, log_dir, run_id, {**UNLIMITED_RATE, **(extra_env or {})})
    if consumer_group(running, "transcription") != f"transcription-{database}":
        running.stop()
        raise RuntimeError("start_services names databases differently now; update this")
    return running
