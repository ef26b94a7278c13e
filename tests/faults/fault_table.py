"""The suite's table: one row per scenario, printed at the end of the run and kept as Markdown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.faults.pipeline_audit import Findings

ROOT = Path(__file__).resolve().parents[2]
TABLE_FILE = ROOT / ".local" / "artifacts" / "fault-suite.md"
MAX_LISTED = 30  # broken guarantees listed per scenario in the file (the test names all)
HEADER = (
    "fault",
    "calls",
    "completed",
    "failed (reasons)",
    "duplicates",
    "lost",
    "in DLQ",
    "time to drain",
    "result",
)


@dataclass(frozen=True)
class Row:
    """One scenario's outcome."""

    fault: str
    findings: Findings
    drain_s: float | None
    problems: list[str]
    note: str = ""  # what the fault did, e.g. how long a server took to come back

    def cells(self) -> tuple[str, ...]:
        """The row's cells, in HEADER's order."""
        findings = self.findings
        reasons = "; ".join(f"{n} × {reason}" for reason, n in findings.failed.most_common())
        failed = f"{sum(findings.failed.values())}" + (f" ({reasons})" if reasons else "")
        return (
            self.fault,
            str(findings.files),
            str(findings.completed),
            failed,
            str(findings.duplicates),
            str(len(findings.lost)),
            str(len(findings.dead_letters)),
            f"{self.drain_s:.0f} s" if self.drain_s is not None else "did not drain",
            "ok" if not self.problems else f"{len(self.problems)} problem(s)",
        )


def markdown(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_table(rows: list[Row], notes: str) -> Path:
    """Writes the table (after notes on what the columns mean) to TABLE_FILE."""
    TABLE_FILE.parent.mkdir(parents=True, exist_ok=True)
    happened = "".join(f"- {row.fault}: {row.note}\n" for row in rows if row.note)
    broken = "".join(
        f"\n## {row.fault}: broken guarantees\n\n"
        + "".join(f"- {problem}\n" for problem in row.problems[:MAX_LISTED])
        + (f"- … {len(row.problems) - MAX_LISTED} more\n" if len(row.problems) > MAX_LISTED else "")
        for row in rows
        if row.problems
    )
    TABLE_FILE.write_text(
        f"# Fault-injection suite\n\n{notes}\n\n{markdown(rows)}\n{happened}{broken}"
    )
    return TABLE_FILE
