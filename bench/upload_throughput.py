"""Upload benchmark: memory and speed of the API upload path, against raw S3 PUTs in the same run.

Starts the five services (as the e2e tests do) against the servers `make bench`
provides and measures two cases. Each case first PUTs its files straight into the
same MinIO server three times (the baseline), then uploads them through the REST API:

1. One large upload: a WAV just under the default 500 MiB limit (48 kHz stereo
   16-bit low noise, 45 minutes), sent with curl, which streams it from disk. The
   resident memory (VmRSS) of the gateway and ingest processes is sampled every
   50 ms; each one's peak growth over its idle RSS just before the upload is printed
   in MiB and as a fraction of the file size. A streaming path keeps that fraction far
   below 1 (target from the issue: under 100 MB each); a path that buffers the file
   is at 1 or above. For comparison with earlier figures, the upload's time is also
   given as a multiple of a plain local copy of the file.
2. Twenty small uploads in parallel: 20 different 30-58.5 s 16 kHz mono WAVs of
   quiet noise (1-2 MB each), sent by 20 curl processes at once; aggregate MB/s and
   files/s, and the RSS growth per concurrent upload.

Baseline: the services' own S3 client (`callscope_common.storage`, what ingest
stores audio with): multipart in 8 MiB parts sent one after another, at most 10
pooled connections, the 20 small files concurrently. "API / raw S3 speed" is the
API's throughput as a fraction of the median baseline run. 1.0 would mean the API
path adds nothing to storing the bytes. It cannot get there: ingest receives each
file completely (gateway -> ingest over gRPC, spooled to disk with a SHA-256),
probes it with ffprobe, and only then does that same S3 upload. The large case
shows the cost of moving the bytes; the parallel case adds the fixed cost per call
(ffprobe, MongoDB, Kafka) and is far lower.

Every accepted call goes on to transcription. Noise holds no speech, so each one
ends FAILED ("audio is silent") once decoded and run through the VAD; that is
expected. The large call's transcription would compete with the parallel case, so
the bench waits for it to leave the pipeline first; the transcription of the first
small calls overlaps the later small uploads, as it would in production. The CPU
seconds the services (and their ffprobe/ffmpeg children) used during each
measurement are printed, so any competition is visible. MB is 10^6 bytes, MiB
2^20. The service logs stay in `$CALLSCOPE_DATA_DIR/logs/bench-<run id>/`.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import wave
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import numpy as np
from callscope_common.settings import InfraSettings
from callscope_common.storage import S3ObjectStore, open_object_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import render_noise  # noqa: E402
from tests.support.infra import Infra, infra_from_environment  # noqa: E402
from tests.support.services import SERVICES, RunningServices, start_services  # noqa: E402

UPLOAD_LIMIT_BYTES = 500 * 1024 * 1024  # ingest's default INGEST_MAX_UPLOAD_BYTES
LARGE_RATE = 48_000
LARGE_CHANNELS = 2
LARGE_SECONDS = 2720  # 45 min 20 s at 192 000 B/s: 522 240 044 bytes, 2 MB under the limit
LARGE_CHUNK_SECONDS = 10  # written 10 s (1.9 MB) at a time, so the bench stays small
NOISE_PEAK = 300  # about -40 dBFS: quiet, but not digital silence
SMALL_COUNT = 20
SMALL_RATE = 16_000
BASELINE_RUNS = 3
SAMPLE_INTERVAL_S = 0.05
PIPELINE_TIMEOUT_S = 240.0
MEMORY_TARGET_BYTES = 100 * 10**6
WATCHED = ("gateway", "ingest")
IN_PROGRESS = frozenset({"PENDING", "TRANSCRIBING", "ANALYZING"})
MB = 10**6
MIB = 2**20

T = TypeVar("T")


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (0 once it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _process_table() -> dict[int, tuple[int, float]]:
    """Every live process: its parent and its CPU seconds, reaped children included."""
    table: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # The fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        table[int(entry.name)] = (int(fields[1]), (utime + stime + cutime + cstime) / tick)
    return table


def tree_cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each process and all its live and reaped descendants (ffprobe, ffmpeg)."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    totals: dict[str, float] = {}
    for name, root in pids.items():
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            total += table.get(pid, (0, 0.0))[1]
            stack.extend(children.get(pid, []))
        totals[name] = total
    return totals


@dataclass
class CpuUse:
    """CPU seconds each service used during a measurement, filled in when it ends."""

    seconds: dict[str, float] = field(default_factory=dict)

    def total(self) -> float:
        """All services together."""
        return sum(self.seconds.values())

    def describe(self) -> str:
        """Every service's CPU seconds, in one line."""
        return ", ".join(f"{name} {self.seconds[name]:.1f}" for name in SERVICES)


@contextmanager
def cpu_use(running: RunningServices) -> Iterator[CpuUse]:
    """Measures the CPU time the service processes and their children spend inside the block."""
    pids = {name: process.pid for name, process in running.processes.items()}
    before = tree_cpu_seconds(pids)
    use = CpuUse()
    yield use
    after = tree_cpu_seconds(pids)
    use.seconds = {name: max(0.0, after[name] - before[name]) for name in pids}


@dataclass
class MemoryPeaks:
    """RSS at start-up, just before the upload, and the highest seen during it, per service."""

    at_start: dict[str, int]
    idle: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)

    def growth(self, name: str) -> int:
        """Peak RSS over idle RSS."""
        return self.peak[name] - self.idle[name]


async def _sample(pids: dict[str, int], peaks: MemoryPeaks, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for name, pid in pids.items():
            peaks.peak[name] = max(peaks.peak[name], rss_bytes(pid))
        await asyncio.sleep(SAMPLE_INTERVAL_S)


async def while_sampling(
    running: RunningServices, peaks: MemoryPeaks, action: Callable[[], Awaitable[T]]
) -> T:
    """Runs an action while sampling the gateway's and ingest's RSS every 50 ms."""
    pids = {name: running.processes[name].pid for name in WATCHED}
    peaks.idle = {name: rss_bytes(pid) for name, pid in pids.items()}
    peaks.peak = dict(peaks.idle)
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample(pids, peaks, stop))
    try:
        return await action()
    finally:
        stop.set()
        await sampler


def write_large_call(path: Path) -> int:
    """A WAV of low stereo noise just under the upload limit, written in chunks."""
    rng = np.random.default_rng(7)
    total_frames = LARGE_SECONDS * LARGE_RATE
    chunk_frames = LARGE_CHUNK_SECONDS * LARGE_RATE
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(LARGE_CHANNELS)
        writer.setsampwidth(2)
        writer.setframerate(LARGE_RATE)
        writer.setnframes(total_frames)
        for start in range(0, total_frames, chunk_frames):
            frames = min(chunk_frames, total_frames - start)
            samples = rng.integers(
                -NOISE_PEAK, NOISE_PEAK + 1, size=frames * LARGE_CHANNELS, dtype=np.int16
            )
            writer.writeframesraw(samples.astype("<i2").tobytes())
    size = path.stat().st_size
    if size >= UPLOAD_LIMIT_BYTES:
        raise RuntimeError(f"the large call is {size} bytes, not under the upload limit")
    return size


def write_small_calls(folder: Path) -> list[Path]:
    """Twenty different short mono WAVs of quiet noise, 30 to 58.5 s long."""
    folder.mkdir()
    return [
        render_noise(folder / f"small-{index:02d}.wav", 30 + 1.5 * index, seed=100 + index)
        for index in range(SMALL_COUNT)
    ]


def total_size(paths: Sequence[Path]) -> int:
    """The summed size of some files."""
    return sum(path.stat().st_size for path in paths)


async def curl_upload(running: RunningServices, path: Path) -> str:
    """Uploads one file through the REST API with curl (streamed from disk); returns the call id."""
    process = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--max-time",
        "600",
        "-X",
        "POST",
        f"{running.gateway_url}/api/v1/calls/upload",
        "-H",
        f"X-API-Key: {running.api_key}",
        "-F",
        f"file=@{path};type=audio/wav",
        "-w",
        "\n%{http_code}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    body, _, status = stdout.decode(errors="replace").rpartition("\n")
    if process.returncode != 0 or status != "201":
        raise RuntimeError(
            f"upload of {path.name} answered {status or 'nothing'} (curl exit "
            f"{process.returncode}): {body} {stderr.decode(errors='replace')}\n"
            f"--- ingest log\n{running.log_tail('ingest')}"
        )
    call_id: str = json.loads(body)["id"]
    return call_id


async def api_upload(running: RunningServices, paths: Sequence[Path]) -> tuple[float, list[str]]:
    """Uploads the files through the API all at once; the wall time in seconds and call ids."""
    started = time.perf_counter()
    ids = await asyncio.gather(*(curl_upload(running, path) for path in paths))
    return time.perf_counter() - started, list(ids)


async def s3_put(store: S3ObjectStore, paths: Sequence[Path], label: str) -> float:
    """PUTs the files straight into S3 all at once; the wall time, then deletes them."""
    keys = [f"bench-baseline/{label}/{path.name}" for path in paths]
    started = time.perf_counter()
    await asyncio.gather(
        *(store.upload_file(path, key, "audio/wav") for path, key in zip(paths, keys, strict=True))
    )
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(store.delete(key) for key in keys))
    return elapsed


def s3_settings(infra: Infra, bucket: str) -> InfraSettings:
    """The services' S3 settings for this run's bucket."""
    return InfraSettings.model_validate(
        {
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
            "MONGODB_URL": infra.mongodb_url,
            "S3_ENDPOINT_URL": infra.s3_endpoint_url,
            "S3_ACCESS_KEY": infra.s3_access_key,
            "S3_SECRET_KEY": infra.s3_secret_key,
            "S3_REGION": infra.s3_region,
            "S3_BUCKET": bucket,
        }
    )


def speed(size: int, seconds: float) -> str:
    """MB/s and the time it took."""
    return f"{size / MB / seconds:6.1f} MB/s ({seconds:5.2f} s)"


def local_copy_seconds(path: Path) -> float:
    """How long a plain copy of the file on the same disk takes (the copy is then removed)."""
    copy = path.with_name(f"copy-of-{path.name}")
    started = time.perf_counter()
    shutil.copyfile(path, copy)
    elapsed = time.perf_counter() - started
    copy.unlink()
    return elapsed


async def measure_case(
    running: RunningServices,
    store: S3ObjectStore,
    paths: Sequence[Path],
    peaks: MemoryPeaks,
    copy_s: float | None = None,
) -> list[str]:
    """Raw S3 PUTs, then the API upload; prints speeds, ratios and CPU use; the call ids.

    copy_s, when given, is a local copy's time of the one file, printed for comparison.
    """
    size = total_size(paths)
    count = len(paths)
    how = f" x{count} at once" if count > 1 else ""
    s3_speeds: list[float] = []
    for run in range(1, BASELINE_RUNS + 1):
        with cpu_use(running) as cpu:
            seconds = await s3_put(store, paths, f"{count}-{run}")
        s3_speeds.append(size / seconds)
        print(
            f"  raw S3 PUT{how}, run {run}: {speed(size, seconds)}"
            f"   services' CPU-s meanwhile: {cpu.total():.1f}"
        )
    with cpu_use(running) as cpu:
        api_s, ids = await while_sampling(running, peaks, lambda: api_upload(running, paths))
    files = f", {count / api_s:.1f} files/s" if count > 1 else ""
    print(f"  API upload{how} (curl):  {speed(size, api_s)}{files}")
    print(f"    services' CPU-s meanwhile: {cpu.describe()}")
    print(
        f"  API / raw S3 speed: {size / api_s / statistics.median(s3_speeds):.2f}"
        f" (raw S3: median of the {BASELINE_RUNS} runs, {statistics.median(s3_speeds) / MB:.1f}"
        " MB/s)"
    )
    if copy_s is not None:
        print(
            f"  API upload takes {api_s / copy_s:.1f} x the time of a local file copy"
            f" ({size / MB / copy_s:.0f} MB/s, {copy_s:.2f} s; from the page cache)"
        )
    for name in WATCHED:
        growth = peaks.growth(name)
        line = (
            f"  {name}: RSS {peaks.at_start[name] / MIB:.0f} MiB at start, "
            f"{peaks.idle[name] / MIB:.0f} MiB idle before, peak growth {growth / MIB:.1f} MiB"
        )
        if count == 1:
            verdict = "met" if growth < MEMORY_TARGET_BYTES else "NOT MET"
            line += f" = {growth / size:.3f} x file size (target < 100 MB: {verdict})"
        else:
            line += f" ({growth / count / MIB:.1f} MiB per concurrent upload)"
        print(line)
    return ids


async def wait_for_pipeline(running: RunningServices, ids: Sequence[str]) -> None:
    """Polls the calls until none is in the pipeline any more; prints how long it took."""
    started = time.perf_counter()
    statuses: dict[str, str] = {}
    async with httpx.AsyncClient(
        base_url=running.gateway_url, headers={"X-API-Key": running.api_key}, timeout=10
    ) as client:
        while time.perf_counter() - started < PIPELINE_TIMEOUT_S:
            for call_id in ids:
                if statuses.get(call_id, "PENDING") not in IN_PROGRESS:
                    continue
                response = await client.get(f"/api/v1/calls/{call_id}")
                response.raise_for_status()
                statuses[call_id] = response.json()["status"]
            if not IN_PROGRESS & set(statuses.values()):
                break
            await asyncio.sleep(1)
    counts = ", ".join(
        f"{count} {status}" for status, count in sorted(Counter(statuses.values()).items())
    )
    waited = time.perf_counter() - started
    if IN_PROGRESS & set(statuses.values()):
        print(f"  pipeline still busy after {waited:.0f} s ({counts}): the next case competes")
    else:
        print(f"  pipeline done with it {waited:.0f} s after the upload ({counts})")


async def main() -> None:
    """Runs the benchmark and prints its figures."""
    began = time.perf_counter()
    infra = infra_from_environment()
    run_id = uuid.uuid4().hex[:10]
    data_dir = Path(os.environ.get("CALLSCOPE_DATA_DIR", ROOT / ".local" / "data" / "test"))
    log_dir = data_dir / "logs" / f"bench-{run_id}"
    with tempfile.TemporaryDirectory(prefix="callscope-bench-") as folder:
        work = Path(folder)
        spool = work / "spool"
        spool.mkdir()
        small = write_small_calls(work / "small")
        large = work / "large-call.wav"
        large_size = write_large_call(large)
        running = await start_services(infra, log_dir, run_id, {"INGEST_SPOOL_DIR": str(spool)})
        try:
            at_start = {name: rss_bytes(running.processes[name].pid) for name in WATCHED}
            async with open_object_store(s3_settings(infra, running.bucket)) as store:
                await store.ensure_bucket()
                print(
                    f"large call: {large_size / MIB:.1f} MiB ({large_size} B; limit "
                    f"{UPLOAD_LIMIT_BYTES} B), WAV {LARGE_RATE // 1000} kHz stereo 16-bit "
                    f"noise, {LARGE_SECONDS // 60} min {LARGE_SECONDS % 60} s"
                )
                copy_s = local_copy_seconds(large)
                ids = await measure_case(running, store, [large], MemoryPeaks(at_start), copy_s)
                await wait_for_pipeline(running, ids)
                sizes = sorted(path.stat().st_size for path in small)
                print(
                    f"{SMALL_COUNT} small calls: {total_size(small) / MB:.1f} MB in all "
                    f"({sizes[0] / MB:.2f}-{sizes[-1] / MB:.2f} MB each), WAV "
                    f"{SMALL_RATE // 1000} kHz mono 16-bit noise, 30-58.5 s"
                )
                await measure_case(running, store, small, MemoryPeaks(at_start))
        finally:
            running.stop()
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"bench run time: {time.perf_counter() - began:.0f} s on {os.cpu_count()} cores; "
        f"the bench's own peak RSS {own_peak / MIB:.0f} MiB"
    )


if __name__ == "__main__":
    asyncio.run(main())
