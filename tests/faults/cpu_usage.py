"""CPU time the suite's processes used during a scenario, read from /proc (Linux only).

On a shared 2-core machine the time to drain says little without knowing which process the
cores went to; this puts that figure next to each scenario's row.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")

Snapshot = dict[str, tuple[int, float]]
"""CPU seconds used so far, by process name, with the pid they belong to."""


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of a live process; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces) start after its ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def snapshot(pids: dict[str, int]) -> Snapshot:
    """The CPU seconds of each named process now."""
    taken: Snapshot = {}
    for name, pid in pids.items():
        used = cpu_seconds(pid)
        if used is not None:
            taken[name] = (pid, used)
    return taken


def spent(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds each process used between two snapshots; a process started meanwhile (a
    restart after a kill) counts from zero, and what its killed predecessor used is lost."""
    used = {}
    for name, (pid, seconds) in after.items():
        earlier = before.get(name)
        used[name] = seconds - earlier[1] if earlier and earlier[0] == pid else seconds
    return used


def describe(used: dict[str, float]) -> str:
    """`name N s` for every process, the busiest first."""
    ranked = sorted(used.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {seconds:.0f}" for name, seconds in ranked)
