"""Load benchmark: accept latency, completion throughput and transcription scale-out under load.

Starts the five services (as the e2e tests do) against the servers of the stack it runs
in, with the demo campaign's defaults: the local Whisper provider (tiny.en) and the
offline evaluator, both really working on spoken calls. The calls are the scripted
dialogues of `tests/support/scripts.py` rendered as stereo with espeak-ng (24-37 s,
31.6 s on average); each upload is made distinct by an inaudible dither, so duplicate
detection lets every one through.

Phase A, an idle stack: one 5-minute call (the dialogues played one after another, cut at
300 s) uploaded alone; the time from sending it to seeing it `COMPLETED` (polled every
0.1 s), next to the issue's target (20 s on a 2-core machine) and the 2-3 minutes the
vendor's product guide quotes. Broken down with the timestamps the API gives: accept
(send -> 201), queued (201 -> first seen `TRANSCRIBING`), transcription (-> the
transcript's `created_at`), analysis (-> the analysis' `created_at`), result recorded
(-> the call's `updated_at` as `COMPLETED`). Polled times are good to 0.1 s.

Load phases: N (--calls, default 200) uploads sent at once through `POST
/api/v1/calls/upload`, then polled (every 10 s: a list of calls is a heavy query on
FerretDB) until none is `PENDING`, `TRANSCRIBING` or `ANALYZING`. Per phase: accept
latency (send -> answer) p50/p95/p99/max, the error rate (any answer but 201, or none),
completed and failed calls, and the completion throughput: terminal calls, and their
audio minutes, per minute from the first upload sent to the last call's final
`updated_at` (the calls' own timestamps: the poll's period does not enter). Also each
call's upload -> terminal time (p50/p95), the CPU seconds the transcription processes
(with their ffmpeg children) spent per minute of audio and per second, and FerretDB's
CPU seconds per second. Each phase runs on freshly started services with a new, empty
database: when the phases shared one, each was slower than the one before (15.6, 7.2,
4.7 calls/min) because FerretDB's work per call grows with the calls it holds, which
would have hidden what the phase varies.

  default      the transcription service as it ships: one process, 2 model workers x 1
               thread, not pinned (it uses both cores). Skipped with --skip-default.
  1 replica    one transcription process pinned to one core (sched_setaffinity) with one
               model worker of one thread (TRANSCRIPTION_MODEL_WORKERS=1, _CPU_THREADS=1).
  2 replicas   the same plus a second such process pinned to the other core, in the same
               consumer group: the scale-out the issue asks to show.

With --backlog the pinned phases measure the stage alone: every upload is answered (the
calls wait in `calls.uploaded`) before the replicas start, and the throughput counts from
their start. Without it, on a 2-core machine the uploads, FerretDB and the other services
take as much CPU as the transcription stage, so a second replica has no core to itself and
the end-to-end ratio shows the machine, not the stage.

The scale-out line is the ratio of the last two throughputs; 2.0 would be perfect.
Everything else (gateway, ingest, analysis, Kafka, FerretDB, MinIO, this client) runs
unpinned on the same cores and competes with the replicas, most with 2 replicas, so expect
less. Pinning reserves nothing: other work on the machine shares the replicas' cores, and
"transcription cores used" (the replicas' CPU seconds over the phase's wall time) shows
how much CPU the stage actually got; a ratio is only meaningful when that figure doubled
too, i.e. on a machine otherwise idle. The uploads of a phase are part of its elapsed
time (transcription starts while they arrive, as in production). Kafka bounds the
parallelism by partitions: `calls.uploaded` gets --partitions (default 6, so that 1, 2
or 3 replicas split it evenly; with the default 3 two replicas hold 2 + 1) before the
services start; the assignment is printed.

The stage topics are shared by every run against one stack; the services' consumer
groups of this run are first committed at the topics' current ends, so they do not
replay earlier runs' events. The API key's rate limit is raised for the run (the
default 600 requests/min would refuse the polling, not measure the pipeline).

Run (starts and stops its own Kafka, FerretDB and MinIO):
  .venv/bin/python deploy/local/stack.py exec --profile test5 -- \\
      .venv/bin/python bench/pipeline_load.py [--calls N] [--partitions P] [--skip-default]
      [--backlog]
`make bench` runs it with the defaults. The load average is printed at the start and the
end of every phase: on a machine shared with other work the figures, and the ratio most,
are lower than on a quiet one. Service logs: `$CALLSCOPE_DATA_DIR/logs/bench-<run id>/`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.api import (  # noqa: E402
    IN_PROGRESS,
    UploadOutcome,
    api_client,
    epoch_seconds,
    fetch_calls,
    percentile,
    refusals,
    upload,
    upload_all,
    wait_until_drained,
)
from bench.support.kafka_groups import KafkaProbe  # noqa: E402
from bench.support.processes import (  # noqa: E402
    cpu_seconds,
    load_average,
    pin_to_cpus,
    stack_servers,
    usable_cpus,
)
from bench.support.speech_calls import (  # noqa: E402
    long_call,
    render_scripts,
    write_batch,
    write_distinct,
)
from bench.support.stack import consumer_group, data_dir, start_isolated  # noqa: E402
from tests.support.infra import Infra, infra_from_environment  # noqa: E402
from tests.support.services import RunningServices, terminate  # noqa: E402

UPLOADED_TOPIC = "calls.uploaded"
LONG_CALL_S = 300.0
TARGET_S = 20.0
VENDOR_S = (120.0, 180.0)  # the product guide's "2-3 minutes"
POLL_S = 0.1
ONE_CORE_SETTINGS = {"TRANSCRIPTION_MODEL_WORKERS": "1", "TRANSCRIPTION_CPU_THREADS": "1"}


@dataclass(frozen=True)
class LongCallTiming:
    """Phase A: the 5-minute call's way through the pipeline, in seconds from sending it."""

    accepted: float
    transcribing_seen: float | None
    transcript_stored: float
    analysis_stored: float
    completed_recorded: float
    completed_seen: float


@dataclass(frozen=True)
class PhaseResult:
    """One load phase's figures."""

    label: str
    outcomes: list[UploadOutcome]
    calls: dict[str, dict[str, Any]]
    transcription_cpu_s: float
    database_cpu_s: float
    # Backlog phases: when the transcription replicas joined, the uploads already queued.
    stage_started_at: float | None = None

    @property
    def accepted(self) -> list[UploadOutcome]:
        """The uploads answered 201."""
        return [outcome for outcome in self.outcomes if outcome.accepted]

    @property
    def error_rate(self) -> float:
        """Share of uploads not answered 201."""
        return 1 - len(self.accepted) / len(self.outcomes)

    def accept_latency(self, share: float) -> float:
        """A percentile of the time to the 201, over the accepted uploads."""
        return percentile([outcome.seconds for outcome in self.accepted], share)

    @property
    def terminal(self) -> list[dict[str, Any]]:
        """The calls that left the pipeline (completed, failed)."""
        return [call for call in self.calls.values() if call["status"] not in IN_PROGRESS]

    def statuses(self) -> Counter[str]:
        """How many calls ended in each status."""
        return Counter(call["status"] for call in self.calls.values())

    def failures(self) -> str:
        """The failed calls' reasons, counted."""
        reasons = Counter(
            (call.get("failure") or {}).get("reason", "?")
            for call in self.calls.values()
            if call["status"] == "FAILED"
        )
        return "; ".join(f"{n} x {reason}" for reason, n in reasons.most_common())

    @property
    def elapsed_s(self) -> float:
        """From the first upload sent (a backlog phase: from the replicas joining) to the
        last call's final update."""
        first = self.stage_started_at or min(outcome.sent_at for outcome in self.outcomes)
        return max(epoch_seconds(call["updated_at"]) for call in self.terminal) - first

    @property
    def audio_s(self) -> float:
        """Audio seconds of the calls that left the pipeline."""
        return sum(float(call["duration_seconds"]) for call in self.terminal)

    @property
    def calls_per_min(self) -> float:
        """Terminal calls per minute."""
        return len(self.terminal) / (self.elapsed_s / 60)

    @property
    def audio_min_per_min(self) -> float:
        """Audio minutes of terminal calls per minute."""
        return self.audio_s / self.elapsed_s

    def pipeline_latency(self, share: float) -> float:
        """A percentile of each call's time from its upload sent to its final update."""
        sent = {outcome.call_id: outcome.sent_at for outcome in self.accepted}
        return percentile(
            [epoch_seconds(call["updated_at"]) - sent[call["id"]] for call in self.terminal],
            share,
        )


async def run_long_call(client: httpx.AsyncClient, path: Path) -> LongCallTiming:
    """Uploads one call and follows it to COMPLETED, polling every 0.1 s."""
    outcome = await upload(client, path)
    if not outcome.accepted or outcome.call_id is None:
        raise RuntimeError(f"the 5-minute call was refused: {outcome}")
    sent = outcome.sent_at
    seen: dict[str, float] = {}
    call: dict[str, Any] = {}
    while not seen.keys() - set(IN_PROGRESS):
        response = await client.get(f"/api/v1/calls/{outcome.call_id}")
        response.raise_for_status()
        call = response.json()
        seen.setdefault(call["status"], time.time() - sent)
        await asyncio.sleep(POLL_S)
    if call["status"] != "COMPLETED":
        raise RuntimeError(f"the 5-minute call ended {call['status']}: {call.get('failure')}")
    transcript = (await client.get(f"/api/v1/calls/{outcome.call_id}/transcript")).json()
    analysis = (await client.get(f"/api/v1/calls/{outcome.call_id}/analysis")).json()
    return LongCallTiming(
        accepted=outcome.seconds,
        transcribing_seen=seen.get("TRANSCRIBING"),
        transcript_stored=epoch_seconds(transcript["created_at"]) - sent,
        analysis_stored=epoch_seconds(analysis["created_at"]) - sent,
        completed_recorded=epoch_seconds(call["updated_at"]) - sent,
        completed_seen=seen["COMPLETED"],
    )


def print_long_call(timing: LongCallTiming) -> None:
    """Phase A's figures."""
    total = timing.completed_seen
    verdict = "met" if total <= TARGET_S else "NOT met"
    print(
        f"  upload -> COMPLETED: {total:.1f} s for {LONG_CALL_S:.0f} s of audio "
        f"({LONG_CALL_S / total:.1f} x real time); target <= {TARGET_S:.0f} s: {verdict}; "
        f"the vendor's 2-3 min is {VENDOR_S[0] / total:.1f}-{VENDOR_S[1] / total:.1f} x longer"
    )
    started = timing.transcribing_seen
    steps = [
        ("accept (send -> 201)", 0.0, timing.accepted),
        ("queued (201 -> TRANSCRIBING seen)", timing.accepted, started),
        ("transcription (-> transcript stored)", started, timing.transcript_stored),
        ("analysis (-> analysis stored)", timing.transcript_stored, timing.analysis_stored),
        ("result recorded (-> COMPLETED)", timing.analysis_stored, timing.completed_recorded),
        ("seen by the client (poll)", timing.completed_recorded, timing.completed_seen),
    ]
    for name, begin, end in steps:
        span = "n/a (not seen)" if begin is None or end is None else f"{end - begin:5.1f} s"
        print(f"    {name:<40} {span}")


async def run_phase(
    client: httpx.AsyncClient,
    *,
    paths: Sequence[Path],
    label: str,
    transcription_pids: Sequence[int],
    database_pid: int,
    timeout_s: float,
    start_stage: Callable[[], Awaitable[list[int]]] | None = None,
) -> PhaseResult:
    """Uploads every file at once, waits until no call is in progress, reads the calls.

    With start_stage (a backlog phase), the transcription replicas are started by it once
    every upload was answered, and the throughput counts from then.
    """
    print(f"  {label}: {len(paths)} uploads at once; load average {load_average()}", flush=True)
    stage_started_at: float | None = None
    if start_stage is None:
        pids = [*transcription_pids, database_pid]
        cpu_before = {pid: cpu_seconds(pid) for pid in pids}
        outcomes = await upload_all(client, paths, concurrency=len(paths))
    else:
        # Backlog: every call queued in Kafka first, then the stage's replicas start.
        outcomes = await upload_all(client, paths, concurrency=len(paths))
        transcription_pids = await start_stage()
        stage_started_at = time.time()
        print(f"    {len(outcomes)} uploads queued; replicas started", flush=True)
        pids = [*transcription_pids, database_pid]
        cpu_before = {pid: cpu_seconds(pid) for pid in pids}
    waited = await wait_until_drained(client, timeout_s=timeout_s)
    cpu_used = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in pids}
    ids = [outcome.call_id for outcome in outcomes if outcome.call_id]
    result = PhaseResult(
        label,
        outcomes,
        await fetch_calls(client, ids),
        transcription_cpu_s=sum(cpu_used[pid] for pid in transcription_pids),
        database_cpu_s=cpu_used[database_pid],
        stage_started_at=stage_started_at,
    )
    print(
        f"    drained {waited:.0f} s after the last answer; load average {load_average()}",
        flush=True,
    )
    return result


def print_table(results: Sequence[PhaseResult]) -> None:
    """The load phases side by side."""
    rows: list[tuple[str, list[str]]] = [
        ("uploads sent / accepted", [f"{len(r.outcomes)} / {len(r.accepted)}" for r in results]),
        ("upload error rate", [f"{r.error_rate:.1%}" for r in results]),
        (
            "accept p50 / p95 / p99 (s)",
            [
                f"{r.accept_latency(0.5):.2f} / {r.accept_latency(0.95):.2f} / "
                f"{r.accept_latency(0.99):.2f}"
                for r in results
            ],
        ),
        ("accept max (s)", [f"{r.accept_latency(1.0):.2f}" for r in results]),
        (
            "completed / failed",
            [f"{r.statuses()['COMPLETED']} / {r.statuses()['FAILED']}" for r in results],
        ),
        ("first upload -> last terminal (s)", [f"{r.elapsed_s:.0f}" for r in results]),
        ("throughput, calls / min", [f"{r.calls_per_min:.1f}" for r in results]),
        ("throughput, audio min / min", [f"{r.audio_min_per_min:.1f}" for r in results]),
        (
            "per call, upload -> terminal p50 / p95 (s)",
            [f"{r.pipeline_latency(0.5):.0f} / {r.pipeline_latency(0.95):.0f}" for r in results],
        ),
        (
            "transcription CPU s per audio min",
            [f"{r.transcription_cpu_s / (r.audio_s / 60):.1f}" for r in results],
        ),
        (
            "transcription cores used (CPU s / s)",
            [f"{r.transcription_cpu_s / r.elapsed_s:.2f}" for r in results],
        ),
        (
            "FerretDB cores used (CPU s / s)",
            [f"{r.database_cpu_s / r.elapsed_s:.2f}" for r in results],
        ),
    ]
    width = max(len(name) for name, _ in rows)
    columns = [max(len(r.label), *(len(row[1][i]) for row in rows)) for i, r in enumerate(results)]
    header = " | ".join(r.label.ljust(columns[i]) for i, r in enumerate(results))
    print(f"  | {'':<{width}} | {header} |")
    print(f"  |{'-' * (width + 2)}|" + "|".join("-" * (c + 2) for c in columns) + "|")
    for name, cells in rows:
        line = " | ".join(cell.ljust(columns[i]) for i, cell in enumerate(cells))
        print(f"  | {name:<{width}} | {line} |")
    for result in results:
        if result.failures():
            print(f"  {result.label}: failed calls: {result.failures()}")
        if result.error_rate:
            print(f"  {result.label}: refused uploads: {refusals(result.outcomes)}")


async def start_replica(
    running: RunningServices,
    probe: KafkaProbe,
    replicas: list[subprocess.Popen[bytes]],
    cpu: int,
    grpc_port: int | None = None,
) -> int:
    """Starts a one-core transcription replica pinned to `cpu` (added to `replicas`), waits
    until the group counts every replica as a member; returns its pid."""
    settings = dict(ONE_CORE_SETTINGS)
    if grpc_port is not None:
        settings["TRANSCRIPTION_GRPC_PORT"] = str(grpc_port)
    name = "abcdefgh"[len(replicas)]
    process = running.spawn_replica("transcription", name, settings)
    replicas.append(process)
    pin_to_cpus(process.pid, {cpu})
    group = consumer_group(running, "transcription")
    held = await probe.wait_for_members(group, UPLOADED_TOPIC, len(replicas))
    print(
        f"  transcription replica {name} pinned to CPU {cpu}; {UPLOADED_TOPIC} partitions "
        f"held by the group's members: {' + '.join(str(p) for p in held)}",
        flush=True,
    )
    return process.pid


@asynccontextmanager
async def fresh_services(
    infra: Infra, probe: KafkaProbe, pinned_cpus: Sequence[int]
) -> AsyncIterator[tuple[RunningServices, Callable[[], Awaitable[list[int]]]]]:
    """The five services on a new, empty database; with pinned_cpus, the transcription
    service is stopped, and the function yielded beside the services starts one single-core
    replica pinned to each of them. That function returns the transcription processes' pids
    (the default process's without pinned_cpus)."""
    running = await start_isolated(infra, probe, uuid.uuid4().hex[:10])
    replicas: list[subprocess.Popen[bytes]] = []

    async def start_replicas() -> list[int]:
        if not pinned_cpus:
            return [running.processes["transcription"].pid]
        for cpu in pinned_cpus:
            # The first replica takes over the stopped process's gRPC port: analysis and
            # the gateway read transcripts there.
            port = None if replicas else running.grpc_ports["transcription"]
            await start_replica(running, probe, replicas, cpu, grpc_port=port)
        return [replica.pid for replica in replicas]

    try:
        print(f"  services started; logs in {running.log_dir}", flush=True)
        if pinned_cpus:
            terminate(running.processes["transcription"])
        yield running, start_replicas
    finally:
        for replica in replicas:
            terminate(replica)
        running.stop()


async def main(arguments: argparse.Namespace) -> None:
    """Runs the phases, each on fresh services, and prints their figures."""
    began = time.perf_counter()
    cpus = usable_cpus()
    if len(cpus) < 2:
        raise SystemExit("the scale-out phase needs 2 CPUs; this process may use only one")
    infra = infra_from_environment()
    print(
        f"pipeline load bench: {arguments.calls} calls per load phase, {os.cpu_count()} CPUs, "
        f"load average {load_average()}",
        flush=True,
    )
    database_pid = stack_servers(data_dir()).get("ferretdb", 0)
    connections = max(arguments.calls, 10)
    results: list[PhaseResult] = []
    with tempfile.TemporaryDirectory(prefix="callscope-load-") as folder:
        work = Path(folder)
        dialogues = render_scripts(work / "dialogues")
        five_minutes = write_distinct(long_call(dialogues, LONG_CALL_S), work / "long.wav", 0)

        async def phase(
            label: str | None, seed: int, pinned_cpus: Sequence[int], long_call_first: bool
        ) -> None:
            """Phase A (long_call_first), then a load phase unless label is None."""
            async with (
                fresh_services(infra, probe, pinned_cpus) as (running, start_replicas),
                api_client(running.gateway_url, running.api_key, connections) as client,
            ):
                backlog = arguments.backlog and bool(pinned_cpus)
                pids = [] if backlog else await start_replicas()
                if long_call_first:
                    await run_long_call_phase(client, five_minutes)
                if label is None:
                    return
                paths = write_batch(dialogues, work / label, arguments.calls, first_seed=seed)
                results.append(
                    await run_phase(
                        client,
                        paths=paths,
                        label=label,
                        transcription_pids=pids,
                        database_pid=database_pid,
                        timeout_s=arguments.timeout,
                        start_stage=start_replicas if backlog else None,
                    )
                )
                shutil.rmtree(work / label)

        async with KafkaProbe(infra.kafka_bootstrap_servers) as probe:
            partitions = await probe.ensure_partitions(UPLOADED_TOPIC, arguments.partitions)
            print(f"  {UPLOADED_TOPIC}: {partitions} partitions", flush=True)
            default = None if arguments.skip_default else "default, unpinned"
            await phase(default, 100_000, (), long_call_first=True)
            await phase("1 replica, 1 core", 200_000, cpus[:1], long_call_first=False)
            await phase("2 replicas, 2 cores", 300_000, cpus[:2], long_call_first=False)
    print_results(
        results,
        arguments.calls,
        statistics.mean(call.seconds for call in dialogues),
        backlog=arguments.backlog,
    )
    print(
        f"bench run time: {time.perf_counter() - began:.0f} s; "
        f"load average at the end {load_average()}"
    )


async def run_long_call_phase(client: httpx.AsyncClient, five_minutes: Path) -> None:
    """Phase A: the 5-minute call on the idle stack."""
    print(
        f"Phase A: one {LONG_CALL_S:.0f} s call on the idle stack (default transcription); "
        f"load average {load_average()}",
        flush=True,
    )
    print_long_call(await run_long_call(client, five_minutes))


def print_results(
    results: Sequence[PhaseResult], calls: int, mean_audio_s: float, *, backlog: bool = False
) -> None:
    """The load phases' table and the ratios."""
    print(
        f"Load phases: {calls} spoken calls each ({mean_audio_s:.1f} s on average), sent at "
        "once, each phase on fresh services with an empty database"
        + ("; pinned phases as a backlog (throughput from the replicas' start)" if backlog else "")
    )
    print_table(results)
    one, two = results[-2], results[-1]
    print(
        f"  scale-out, 2 replicas / 1 replica: {two.calls_per_min / one.calls_per_min:.2f} x "
        f"calls/min, {two.audio_min_per_min / one.audio_min_per_min:.2f} x audio min/min "
        "(2.0 = perfect)"
    )
    if len(results) == 3:
        print(
            f"  default (1 process, both cores) / 1 replica on 1 core: "
            f"{results[0].calls_per_min / one.calls_per_min:.2f} x calls/min"
        )


def parse_arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="uploads per load phase")
    parser.add_argument(
        "--partitions", type=int, default=6, help=f"partitions of {UPLOADED_TOPIC} (at least)"
    )
    parser.add_argument(
        "--skip-default", action="store_true", help="leave out the unpinned default phase"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600, help="longest wait for a phase to drain (s)"
    )
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="pinned phases: queue every upload first, then start the replicas, and count "
        "the throughput from then (the stage alone, without the uploads competing for CPU)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_arguments()))
