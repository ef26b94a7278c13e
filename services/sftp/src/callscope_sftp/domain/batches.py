"""When a batch is ready and what happens to each of its files: the batch rules, owned here.

A batch collects the files that arrive in a campaign folder together, opened by the
first of them; its window (the campaign's batch window) starts then. Each sweep the
batch is planned again from what is in the folder:

- CSV required, none yet: WAITING_FOR_CSV until the window ends, then FAILED (its audio
  files fail with the reason, so the customer can drop them again with a CSV).
- A CSV whose rows name files not there (or still being written): WAITING_FOR_FILES until
  the window ends, then processed with what is there; the rest are missing (INCOMPLETE).
- A CSV and every file it names, all complete: processed at once, window or not.
- CSV optional and none yet: DETECTING until the window ends (a CSV may still come), then
  the audio is processed without metadata. A window of 0 processes at once.
- An unreadable CSV (too large, not UTF-8, no file_name column, ...) fails the batch.

Files still being written when the window ends are left for the next batch, except those
the CSV names, which the batch waits for. Audio the CSV does not name is processed
without metadata when the CSV is optional, and left for a batch of its own (which waits
for its own CSV) when it is required.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from callscope_sftp.domain.model import (
    BatchStatus,
    CsvReading,
    CsvRequirement,
    CsvRow,
    FileCounts,
)


@dataclass(frozen=True)
class Candidate:
    """A file of the batch as the plan sees it."""

    file_id: str
    name: str
    complete: bool


@dataclass(frozen=True)
class BatchView:
    """Everything the plan depends on."""

    requirement: CsvRequirement
    window_s: int
    window_ends_at: dt.datetime
    now: dt.datetime
    audio: Sequence[Candidate]
    csv: Candidate | None
    # None while the CSV has not been read yet.
    reading: CsvReading | None = None


@dataclass(frozen=True)
class Plan:
    """What to do with the batch now."""

    status: BatchStatus
    reason: str = ""
    # Files to import, each with its CSV row (None: no row, no metadata).
    process: tuple[tuple[str, CsvRow | None], ...] = ()
    # Files that fail without being imported, with the reason.
    fail: tuple[tuple[str, str], ...] = ()
    # Files that leave this batch for the next one.
    release: tuple[str, ...] = ()
    # Files the CSV names that are not there.
    missing: tuple[str, ...] = ()
    # CSV rows that can never match a file (no name, or a path), as messages.
    rejected_rows: tuple[str, ...] = ()
    # The batch fails as a whole (no CSV in time, an unreadable CSV).
    batch_failed: bool = False

    @property
    def waiting(self) -> bool:
        """Whether the batch keeps waiting (and taking new files)."""
        return self.status in {
            BatchStatus.DETECTING,
            BatchStatus.WAITING_FOR_CSV,
            BatchStatus.WAITING_FOR_FILES,
        }


def comparable_name(name: str) -> str:
    """A file name as CSV rows and folder entries are compared (the way ingest stores names)."""
    return unicodedata.normalize("NFC", name).strip()


def plan_batch(view: BatchView) -> Plan:
    """The batch's status now and, once it stops waiting, what happens to each file."""
    due = view.now >= view.window_ends_at
    until = f"until {view.window_ends_at.strftime('%H:%M:%S')} UTC"
    csv = view.csv
    if csv is not None and not csv.complete:
        return Plan(BatchStatus.DETECTING, f"waiting for {csv.name} to finish uploading")
    if csv is None:
        return _plan_without_csv(view, due, until)
    if view.reading is None:
        return Plan(BatchStatus.DETECTING, f"reading {csv.name}")
    if view.reading.errors:
        reason = f"the CSV {csv.name} cannot be used: " + "; ".join(view.reading.errors)
        return _failed_batch(view, reason)
    return _plan_with_csv(view, view.reading, csv.name, due, until)


def _plan_without_csv(view: BatchView, due: bool, until: str) -> Plan:
    complete = [a for a in view.audio if a.complete]
    if view.requirement is CsvRequirement.REQUIRED:
        if not due:
            return Plan(
                BatchStatus.WAITING_FOR_CSV,
                f"this campaign needs a CSV with each batch of audio files; waiting for one "
                f"{until}",
            )
        return _failed_batch(
            view,
            f"no CSV arrived within the batch window ({view.window_s} s) and this campaign "
            "requires one; drop the audio files again together with their CSV",
        )
    if not due:
        return Plan(BatchStatus.DETECTING, f"waiting {until} in case a CSV follows (optional)")
    if not complete:
        return Plan(BatchStatus.DETECTING, "waiting for the files to finish uploading")
    return Plan(
        BatchStatus.PROCESSING,
        process=tuple((a.file_id, None) for a in complete),
        release=tuple(a.file_id for a in view.audio if not a.complete),
    )


def _failed_batch(view: BatchView, reason: str) -> Plan:
    """The batch fails: its complete audio fails with the reason, the rest moves on."""
    return Plan(
        BatchStatus.FAILED,
        reason,
        fail=tuple((a.file_id, reason) for a in view.audio if a.complete),
        release=tuple(a.file_id for a in view.audio if not a.complete),
        batch_failed=True,
    )


def _plan_with_csv(
    view: BatchView, reading: CsvReading, csv_name: str, due: bool, until: str
) -> Plan:
    present = {comparable_name(a.name): a for a in view.audio}
    listed, rejected = _listed_rows(reading, present)
    missing = [row.file_name for row, found in listed if found is None]
    uploading = [row.file_name for row, found in listed if found is not None and not found.complete]
    if (missing or uploading) and not due:
        waiting_for = missing + uploading
        return Plan(
            BatchStatus.WAITING_FOR_FILES,
            f"{csv_name} names {len(waiting_for)} file(s) not complete yet "
            f"({_some(waiting_for)}); waiting {until}",
            missing=tuple(missing),
        )
    if uploading:
        return Plan(
            BatchStatus.WAITING_FOR_FILES,
            f"waiting for {_some(uploading)} to finish uploading",
            missing=tuple(missing),
        )
    listed_ids = {found.file_id for _, found in listed if found is not None}
    process: list[tuple[str, CsvRow | None]] = []
    fail: list[tuple[str, str]] = []
    for row, found in listed:
        if found is None:
            continue
        if row.errors:
            fail.append((found.file_id, f"{csv_name}: " + "; ".join(row.errors)))
        else:
            process.append((found.file_id, row))
    release: list[str] = []
    for audio in view.audio:
        if audio.file_id in listed_ids:
            continue
        if view.requirement is CsvRequirement.OPTIONAL and audio.complete:
            process.append((audio.file_id, None))
        else:
            release.append(audio.file_id)
    return Plan(
        BatchStatus.PROCESSING,
        process=tuple(process),
        fail=tuple(fail),
        release=tuple(release),
        missing=tuple(missing),
        rejected_rows=tuple(f"{csv_name}: {message}" for message in rejected),
    )


def _listed_rows(
    reading: CsvReading, present: dict[str, Candidate]
) -> tuple[list[tuple[CsvRow, Candidate | None]], list[str]]:
    """The rows that name a file (with the file when it is there), and the rows that never
    can: no name, a path, or a name an earlier row already gave."""
    listed: list[tuple[CsvRow, Candidate | None]] = []
    rejected: list[str] = []
    seen: set[str] = set()
    for row in reading.rows:
        name = comparable_name(row.file_name)
        if not name or "/" in name or "\\" in name or name in {".", ".."}:
            rejected.append("; ".join(row.errors) or f"line {row.line}: no usable file_name")
        elif name in seen:  # the first row that names a file describes it
            rejected.append("; ".join(row.errors) or f"line {row.line}: {name} is listed twice")
        else:
            seen.add(name)
            listed.append((row, present.get(name)))
    return listed, rejected


def final_status(counts: FileCounts, *, rejected_rows: int, batch_failed: bool) -> BatchStatus:
    """How a batch ends once none of its files is waiting or being imported."""
    if batch_failed:
        return BatchStatus.FAILED
    handled = counts.completed + counts.duplicates
    problems = counts.failed + counts.missing + rejected_rows
    if problems == 0:
        return BatchStatus.COMPLETED
    return BatchStatus.FAILED if handled == 0 else BatchStatus.INCOMPLETE


def _some(names: Sequence[str], shown: int = 5) -> str:
    listed = ", ".join(names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")
