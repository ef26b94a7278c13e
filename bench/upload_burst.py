"""Back-pressure benchmark: a burst of 1,000 uploads queues in Kafka, memory stays bounded.

Starts the five services (as the e2e tests do, transcription with its defaults: local
Whisper, at most TRANSCRIPTION_MAX_IN_FLIGHT_CALLS = 2 calls at once) against the servers
of the stack it runs in. The calls are the scripted dialogues of `tests/support/scripts.py`
rendered as stereo speech with espeak-ng and cut to 12 s (ingest refuses calls under
10 s), each made distinct by an inaudible dither so that duplicate detection lets all
through: 1,000 (--calls) files of 0.77 MB.

The burst: every file is sent to `POST /api/v1/calls/upload` as fast as the API takes
them, at most 50 (--concurrency) at a time. Meanwhile every 200 ms the resident memory
(VmRSS) of each service process and of the stack's Kafka, FerretDB and MinIO servers is
sampled, and every second the transcription group's lag on `calls.uploaded` (end offsets
minus committed offsets: uploaded calls not yet transcribed), every 10 s the number of
`TRANSCRIBING` calls (what the transcription service holds in memory). Sampling goes on
for --drain-seconds (default 60) after the last upload was answered, then the services
are stopped: the burst is not transcribed to its end (on 2 cores that takes an hour).

Printed: the uploads' rate, accept latency and errors; the lag's peak against the calls in
flight (a backlog that sits in Kafka has lag >> in flight); and, per process, against a
baseline taken in the same run (the highest RSS of 3 s of samples of the idle stack,
after 4 warm-up calls went through the whole pipeline, so that the transcription
model's batches, about +300 MiB, services/transcription/README.md, and the pools are
already allocated): the peak, the growth, peak / idle, the growth per 100 queued calls
(at the peak lag), and what the process grew from the moment the lag first reached a
quarter of its peak per 100 more queued calls, which separates memory that follows the
backlog from one-off costs of the first calls. A process that held queued calls would
grow by about their audio, 77 MiB per 100 calls here; a bounded one by about 0. The
summary line adds it up for the five services and for the servers: FerretDB and MinIO
store every call, queued or done, and their caches grow with what they store; Kafka's
JVM heap is capped (-Xmx1g in deploy/local/stack.py), the records are on disk. The last
column is each process's CPU seconds (its children's included) per second of the burst
and the drain window: where the time went. The lag counts records: a hand-over that
ingest's relay sends again (docs/pipeline.md) counts twice.

Run (starts and stops its own Kafka, FerretDB and MinIO):
  .venv/bin/python deploy/local/stack.py exec --profile test5 -- \\
      .venv/bin/python bench/upload_burst.py [--calls N] [--concurrency C] [--drain-seconds S]
The load average is printed at the start and the end. Service logs:
`$CALLSCOPE_DATA_DIR/logs/bench-<run id>/`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka.errors import KafkaError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.api import (  # noqa: E402
    UploadOutcome,
    api_client,
    count_with_status,
    percentile,
    refusals,
    upload_all,
    wait_until_drained,
)
from bench.support.kafka_groups import KafkaProbe  # noqa: E402
from bench.support.processes import (  # noqa: E402
    MIB,
    cpu_seconds,
    load_average,
    rss_bytes,
    stack_servers,
)
from bench.support.speech_calls import render_scripts, write_batch  # noqa: E402
from bench.support.stack import consumer_group, data_dir, start_isolated  # noqa: E402
from tests.support.infra import infra_from_environment  # noqa: E402

CALL_SECONDS = 12.0
UPLOADED_TOPIC = "calls.uploaded"
RSS_INTERVAL_S = 0.2
LAG_EVERY = 5  # RSS samples per lag sample (1 s)
# RSS samples per count of TRANSCRIBING calls (10 s): listing calls is a heavy query on
# FerretDB, which the bench must not load much itself.
IN_FLIGHT_EVERY = 50
IDLE_WINDOW_S = 3.0
WARM_UP_CALLS = 4


@dataclass
class Samples:
    """What the sampler saw, with times in seconds into the burst: RSS per process, the lag,
    and the calls in flight."""

    pids: dict[str, int]
    idle: dict[str, int] = field(default_factory=dict)
    rss: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    lag: list[tuple[float, int]] = field(default_factory=list)
    in_flight: list[int] = field(default_factory=list)
    # CPU seconds per second over the burst and its drain window, children included.
    cores: dict[str, float] = field(default_factory=dict)

    def take_rss(self, at: float) -> None:
        """One RSS sample of every process."""
        self.rss.append((at, {name: rss_bytes(pid) for name, pid in self.pids.items()}))

    def peak_lag(self) -> tuple[float, int]:
        """When the lag was highest, and how high."""
        return max(self.lag, key=lambda sample: sample[1], default=(0.0, 0))

    def quarter_lag(self) -> tuple[float, int]:
        """When the lag first reached a quarter of its peak, and what it was then."""
        _, peak = self.peak_lag()
        return next(((at, lag) for at, lag in self.lag if lag >= peak / 4), (0.0, 0))

    def peak_rss(self, name: str, until: float = math.inf) -> int:
        """The highest RSS of a process among the samples taken up to `until`."""
        return max((by_name[name] for at, by_name in self.rss if at <= until), default=0)


async def sample(
    samples: Samples,
    *,
    probe: KafkaProbe,
    client: httpx.AsyncClient,
    group: str,
    started: float,
    stop: asyncio.Event,
) -> None:
    """Samples RSS every 200 ms, the lag every second, TRANSCRIBING calls every 10 s."""
    tick = 0
    while not stop.is_set():
        samples.take_rss(time.monotonic() - started)
        if tick % LAG_EVERY == 0:
            # A sample lost to a slow broker or API is skipped, not fatal.
            with contextlib.suppress(KafkaError, asyncio.TimeoutError):
                lag = await asyncio.wait_for(probe.lag(group, UPLOADED_TOPIC), 2)
                samples.lag.append((time.monotonic() - started, lag))
        if tick % IN_FLIGHT_EVERY == 0:
            with contextlib.suppress(httpx.HTTPError):
                samples.in_flight.append(await count_with_status(client, "TRANSCRIBING"))
        tick += 1
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), RSS_INTERVAL_S)


async def idle_rss(pids: dict[str, int]) -> dict[str, int]:
    """The highest RSS of each process over a few seconds of the idle stack."""
    highest: dict[str, int] = {}
    deadline = time.monotonic() + IDLE_WINDOW_S
    while time.monotonic() < deadline:
        for name, pid in pids.items():
            highest[name] = max(highest.get(name, 0), rss_bytes(pid))
        await asyncio.sleep(RSS_INTERVAL_S)
    return highest


def print_uploads(outcomes: list[UploadOutcome], seconds: float, concurrency: int) -> None:
    """The burst's rate, accept latency and errors."""
    accepted = [outcome.seconds for outcome in outcomes if outcome.accepted]
    errors = len(outcomes) - len(accepted)
    print(
        f"  uploads: {len(outcomes)} sent, {concurrency} at a time, {len(accepted)} accepted in "
        f"{seconds:.0f} s ({len(accepted) / seconds:.1f} calls/s); errors {errors} "
        f"({errors / len(outcomes):.1%}): {refusals(outcomes)}"
    )
    print(
        "  accept latency p50 / p95 / p99 / max: "
        + " / ".join(f"{percentile(accepted, share):.2f}" for share in (0.5, 0.95, 0.99, 1.0))
        + " s"
    )


def print_memory(samples: Samples, servers: set[str], queued_bytes: float) -> None:
    """Each process's idle and peak RSS, and how much it grew per 100 more queued calls;
    then the services' and the servers' totals."""
    _, peak_lag = samples.peak_lag()
    quarter_at, quarter_lag = samples.quarter_lag()
    more_queued = max(peak_lag - quarter_lag, 1) / 100
    rows = [
        (
            "process",
            "idle MiB",
            "peak MiB",
            "growth MiB",
            "peak / idle",
            "MiB per 100 queued",
            "MiB at 1/4 peak lag",
            "MiB per 100 more queued (1/4 -> peak lag)",
            "CPU cores used",
        )
    ]
    marginal = {"services": 0, "servers": 0}
    for name in samples.pids:
        idle, peak = samples.idle[name], samples.peak_rss(name)
        early = samples.peak_rss(name, until=quarter_at)
        marginal["servers" if name in servers else "services"] += max(0, peak - early)
        rows.append(
            (
                name,
                f"{idle / MIB:.0f}",
                f"{peak / MIB:.0f}",
                f"{max(0, peak - idle) / MIB:.1f}",
                f"{peak / idle:.2f}" if idle else "n/a",
                f"{max(0, peak - idle) / MIB / (max(peak_lag, 1) / 100):.2f}",
                f"{early / MIB:.0f}",
                f"{max(0, peak - early) / MIB / more_queued:.2f}",
                f"{samples.cores[name]:.2f}",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  | " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("  |" + "|".join("-" * (width + 2) for width in widths) + "|")
    print(
        f"  lag {quarter_lag} at {quarter_at:.0f} s, {peak_lag} at its peak; per 100 more queued "
        f"calls the five services together grew {marginal['services'] / MIB / more_queued:.2f} "
        f"MiB, the servers (which store every call, queued or not) "
        f"{marginal['servers'] / MIB / more_queued:.2f} MiB; holding the calls' audio would "
        f"take {queued_bytes * 100 / MIB:.0f} MiB"
    )


@dataclass(frozen=True)
class Burst:
    """The burst's uploads, how long they took, and the calls completed by the end."""

    outcomes: list[UploadOutcome]
    seconds: float
    completed: int


async def warm_up(client: httpx.AsyncClient, paths: list[Path]) -> None:
    """Sends a few calls through the whole pipeline, so the idle baseline is a warm stack."""
    outcomes = await upload_all(client, paths, len(paths))
    if not all(outcome.accepted for outcome in outcomes):
        raise RuntimeError(f"warm-up uploads refused: {refusals(outcomes)}")
    await wait_until_drained(client, timeout_s=600)


async def run_burst(
    client: httpx.AsyncClient,
    *,
    probe: KafkaProbe,
    group: str,
    samples: Samples,
    arguments: argparse.Namespace,
    paths: list[Path],
) -> Burst:
    """Uploads the burst while sampling, then samples the drain window."""
    stop = asyncio.Event()
    started = time.monotonic()
    cpu_before = {name: cpu_seconds(pid) for name, pid in samples.pids.items()}
    sampler = asyncio.create_task(
        sample(samples, probe=probe, client=client, group=group, started=started, stop=stop)
    )
    outcomes = await upload_all(client, paths, arguments.concurrency)
    seconds = time.monotonic() - started
    await asyncio.sleep(arguments.drain_seconds)
    stop.set()
    await sampler
    window = time.monotonic() - started
    samples.cores = {
        name: (cpu_seconds(pid) - cpu_before[name]) / window for name, pid in samples.pids.items()
    }
    return Burst(outcomes, seconds, await count_with_status(client, "COMPLETED"))


async def main(arguments: argparse.Namespace) -> None:
    """Runs the burst and prints its figures."""
    began = time.perf_counter()
    infra = infra_from_environment()
    print(
        f"upload burst bench: {arguments.calls} uploads of {CALL_SECONDS:.0f} s spoken calls; "
        f"{os.cpu_count()} CPUs, load average {load_average()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="callscope-burst-") as folder:
        work = Path(folder)
        clips = [call.first(CALL_SECONDS) for call in render_scripts(work / "dialogues")]
        paths = write_batch(clips, work / "calls", arguments.calls, first_seed=1)
        warm = write_batch(clips, work / "warm", WARM_UP_CALLS, first_seed=arguments.calls + 1)
        file_bytes = sum(path.stat().st_size for path in paths) / len(paths)
        async with KafkaProbe(infra.kafka_bootstrap_servers) as probe:
            running = await start_isolated(infra, probe, uuid.uuid4().hex[:10])
            try:
                pids = {name: process.pid for name, process in running.processes.items()}
                servers = stack_servers(data_dir())
                samples = Samples({**pids, **servers})
                connections = max(arguments.concurrency, WARM_UP_CALLS)
                async with api_client(running.gateway_url, running.api_key, connections) as client:
                    await warm_up(client, warm)
                    samples.idle = await idle_rss(samples.pids)
                    group = consumer_group(running, "transcription")
                    burst = await run_burst(
                        client,
                        probe=probe,
                        group=group,
                        samples=samples,
                        arguments=arguments,
                        paths=paths,
                    )
            finally:
                running.stop()
    print(f"Burst: {arguments.calls} calls of {file_bytes / 1e6:.2f} MB; logs in {running.log_dir}")
    print_uploads(burst.outcomes, burst.seconds, arguments.concurrency)
    at, peak_lag = samples.peak_lag()
    in_flight = max(samples.in_flight, default=0)
    print(
        f"  {UPLOADED_TOPIC} lag of the transcription group: peak {peak_lag} calls "
        f"{at:.0f} s into the burst, {samples.lag[-1][1] if samples.lag else 'n/a'} at the end; "
        f"TRANSCRIBING at most {in_flight}: lag / in flight = {peak_lag / max(in_flight, 1):.0f}"
    )
    print(
        f"  completed {burst.completed - WARM_UP_CALLS} of the burst by "
        f"{burst.seconds + arguments.drain_seconds:.0f} s, when the services were stopped"
    )
    print_memory(samples, set(servers), file_bytes)
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"bench run time: {time.perf_counter() - began:.0f} s; the bench's own peak RSS "
        f"{own_peak / MIB:.0f} MiB; load average at the end {load_average()}"
    )


def parse_arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="uploads in the burst")
    parser.add_argument("--concurrency", type=int, default=50, help="uploads in flight at most")
    parser.add_argument(
        "--drain-seconds", type=float, default=60, help="sampling after the last upload (s)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_arguments()))
