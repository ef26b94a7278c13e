"""Upload streaming benchmark: memory of the gateway and ingest while a large file streams through.

Starts the five services against the servers `make bench` provides, uploads a
large WAV through the REST API and samples the resident memory (RSS) of the
gateway and ingest processes every 50 ms. Prints each process's peak growth
over its idle baseline, as a ratio of the file's size, plus the upload
throughput against a plain local copy of the same file (baseline in the same run).
A streaming pipeline keeps the ratios far below 1.0; a buffering one is above 1.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import write_wav  # noqa: E402
from tests.support.infra import infra_from_environment  # noqa: E402
from tests.support.services import start_services  # noqa: E402

FILE_SECONDS = 2 * 3600  # a 2-hour mono call at 16 kHz is ~230 MB of WAV
SAMPLE_RATE = 16_000


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def make_call(path: Path) -> int:
    """A long WAV of low noise (so it is valid audio), written in one go."""
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(FILE_SECONDS * SAMPLE_RATE) * 30).astype(np.int16)
    write_wav(path, [samples], SAMPLE_RATE)
    return path.stat().st_size


async def sample_peaks(pids: dict[str, int], peaks: dict[str, int], stop: asyncio.Event) -> None:
    """Records each process's highest RSS until stopped."""
    while not stop.is_set():
        for name, pid in pids.items():
            peaks[name] = max(peaks[name], rss_bytes(pid))
        await asyncio.sleep(0.05)


async def main() -> None:
    """Runs the benchmark and prints its figures."""
    infra = infra_from_environment()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        call = work / "long-call.wav"
        size = make_call(call)
        started = time.perf_counter()
        shutil.copyfile(call, work / "copy.wav")
        copy_s = time.perf_counter() - started
        running = await start_services(infra, work / "logs", uuid.uuid4().hex[:10])
        try:
            pids = {name: running.processes[name].pid for name in ("gateway", "ingest")}
            baseline = {name: rss_bytes(pid) for name, pid in pids.items()}
            peaks = dict(baseline)
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_peaks(pids, peaks, stop))
            started = time.perf_counter()
            async with httpx.AsyncClient(base_url=running.gateway_url, timeout=600) as client:
                with call.open("rb") as handle:
                    response = await client.post(
                        "/api/v1/calls/upload",
                        headers={"X-API-Key": running.api_key},
                        files={"file": ("long-call.wav", handle, "audio/wav")},
                    )
            upload_s = time.perf_counter() - started
            stop.set()
            await sampler
        finally:
            running.stop()
    assert response.status_code == 201, response.text
    print(f"file: {size / 2**20:.0f} MiB WAV ({FILE_SECONDS / 3600:.0f} h mono)")
    for name in pids:
        growth = peaks[name] - baseline[name]
        print(
            f"{name}: idle RSS {baseline[name] / 2**20:.0f} MiB, peak growth "
            f"{growth / 2**20:.1f} MiB = {growth / size:.3f} x file size"
        )
    print(
        f"upload: {size / 2**20 / upload_s:.0f} MiB/s through gateway+ingest+S3, "
        f"{upload_s / copy_s:.1f} x the time of a local file copy ({copy_s:.2f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
