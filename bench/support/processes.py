"""Processes seen from /proc: resident memory, CPU pinning, the local servers, the load."""

from __future__ import annotations

import os
from pathlib import Path

MIB = 2**20

# How each local server of the stack shows itself in its command line (deploy/local/stack.py).
_SERVER_MARKERS = {"kafka": "kafka.Kafka", "ferretdb": "ferretdb", "minio": "minio"}


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS), 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children it has reaped (ffmpeg, ffprobe); 0 once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # The fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def pin_to_cpus(pid: int, cpus: set[int]) -> None:
    """Restricts every thread of a process to some CPUs; threads and children it starts later
    inherit the restriction from the thread that starts them."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)


def usable_cpus() -> list[int]:
    """The CPUs this process may run on, in order."""
    return sorted(os.sched_getaffinity(0))


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def stack_servers(data_dir: Path) -> dict[str, int]:
    """The pids of the Kafka, FerretDB and MinIO servers whose data lives under data_dir.

    The stack (deploy/local/stack.py) passes each server paths under its profile's data
    folder, which tells this profile's servers from another stack's on the same machine.
    """
    marker_dir = str(data_dir.resolve()) + "/"
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        words = _command_line(int(entry.name))
        if not any(marker_dir in word for word in words):
            continue
        for name, marker in _SERVER_MARKERS.items():
            if name not in found and any(Path(word).name == marker for word in words):
                found[name] = int(entry.name)
    return found


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as uptime prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
