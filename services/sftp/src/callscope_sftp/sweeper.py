"""One sweep of one campaign folder: see what is there, group it into batches, import.

Every step is written down before it is taken and can be taken again, so a sweep that
dies at any point (the process killed, the connection lost) is finished by the next one,
in this replica or another, without importing a file twice or losing one:

- a file moves into `processing/` (which customers cannot write to) before it is read, so
  what is read is what was checked: a regular file, not a link swapped in afterwards;
- the file name is claimed for the campaign (a unique key) before it is sent, so two
  replicas never import the same name, and a name imported before is a DUPLICATE;
- ingest is sent the file record's id as `source_ref`, so sending again after a crash
  returns the call made the first time;
- the outcome is recorded before the file moves to `processed/` or `failed/`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callscope_common.agent_pattern import AgentPatternError, parse_agent_pattern

from callscope_sftp.domain.batches import BatchView, Candidate, Plan, final_status, plan_batch
from callscope_sftp.domain.entries import (
    COMPLETE_MARKER_SUFFIX,
    Entry,
    EntryType,
    display_name,
    judge,
)
from callscope_sftp.domain.model import (
    FINAL_FILE_STATUSES,
    WORK_FOLDERS,
    Batch,
    BatchStatus,
    CampaignFolder,
    CsvReading,
    CsvRow,
    FileCounts,
    FileKind,
    FileStatus,
    Location,
    TrackedFile,
)
from callscope_sftp.ports import (
    DropFolders,
    Ingest,
    IngestUnavailableError,
    SftpStore,
    UploadRefusedError,
    UploadRequest,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
# setgid (new entries keep the organisation's group) + sticky (customers cannot move the
# service's folders or each other's files) + rwx for the organisation's group.
CAMPAIGN_FOLDER_MODE = 0o3770
# Customers may look into processing/ but not write: nothing can be swapped in there.
PROCESSING_FOLDER_MODE = 0o2750
# processed/ and failed/: customers may read and clean up.
RESULT_FOLDER_MODE = 0o2770
REASON_SUFFIX = ".reason.txt"
MAX_NAME_SUFFIXES = 1000


def utc_now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class SweepRules:
    """How patient and how careful a sweep is; the defaults are production's."""

    # A file whose size and time have not changed for this long is completely written.
    settle_s: float = 10.0
    # A larger CSV is refused unread (ingest's bulk-upload limit is the same).
    max_csv_bytes: int = 5 * 1024 * 1024
    # Bytes read from the server and sent to ingest at a time.
    chunk_bytes: int = 256 * 1024
    # Imports that fail because ingest (or the connection) is down are tried this often.
    max_attempts: int = 5


class CampaignSweep:
    """Sweeps one campaign folder; build one per campaign per sweep."""

    def __init__(
        self,
        folder: CampaignFolder,
        *,
        drop: DropFolders,
        store: SftpStore,
        ingest: Ingest,
        rules: SweepRules,
        still_held: Callable[[], Awaitable[bool]],
        clock: Clock = utc_now,
    ) -> None:
        self._folder = folder
        self._drop = drop
        self._store = store
        self._ingest = ingest
        self._rules = rules
        self._still_held = still_held
        self._clock = clock

    async def run(self) -> None:
        """Finishes interrupted work, records what is in the folder, moves batches on."""
        await self._prepare_folders()
        for batch in await self._store.unfinished_batches(self._folder.campaign_id):
            await self._process(batch)
        await self._settle_leftovers()
        await self._observe()
        await self._move_open_batch_on()

    # ---- the folder ---------------------------------------------------------------------

    async def _prepare_folders(self) -> None:
        await self._drop.ensure_folder(self._folder.path, CAMPAIGN_FOLDER_MODE)
        for location in WORK_FOLDERS:
            mode = PROCESSING_FOLDER_MODE if location is Location.PROCESSING else RESULT_FOLDER_MODE
            await self._drop.ensure_folder(self._folder.folder_of(location), mode)

    async def _observe(self) -> None:
        """Records new entries, notices changed and vanished ones."""
        now = self._clock()
        entries = await self._drop.list(self._folder.path)
        tracked = {
            f.name: f
            for f in await self._store.active_files(self._folder.campaign_id)
            if f.location is Location.INBOX
        }
        verdicts = [(entry, judge(entry)) for entry in entries if not self._is_work_folder(entry)]
        markers = {v.marks_complete for _, v in verdicts if v.marks_complete}
        for entry, verdict in verdicts:
            if verdict.marks_complete:
                continue
            known = tracked.pop(entry.name, None)
            if verdict.kind is None:
                if known is None:
                    skipped = self._new_file(entry.name, None, now, entry)
                    self._mark(skipped, FileStatus.SKIPPED, verdict.reason)
                    await self._store.save_file(skipped)
                elif known.status in {FileStatus.DETECTED, FileStatus.MATCHED}:
                    self._mark(known, FileStatus.SKIPPED, verdict.reason)
                    await self._store.save_file(known)
                continue
            if known is None:
                fresh = self._new_file(entry.name, verdict.kind, now, entry)
                fresh.marked_complete = entry.name in markers
                await self._store.save_file(fresh)
            elif known.status in {FileStatus.DETECTED, FileStatus.MATCHED}:
                changed = (known.size_bytes, known.mtime) != (entry.size_bytes, entry.mtime)
                marked = entry.name in markers
                if changed or marked != known.marked_complete:
                    known.size_bytes, known.mtime = entry.size_bytes, entry.mtime
                    known.unchanged_since = now if changed else known.unchanged_since
                    known.marked_complete = marked
                    known.updated_at = now
                    await self._store.save_file(known)
        for gone in tracked.values():
            if gone.status is FileStatus.SKIPPED:
                gone.active = False
            elif gone.status in {FileStatus.DETECTED, FileStatus.MATCHED}:
                self._mark(
                    gone, FileStatus.SKIPPED, "removed from the folder before it was imported"
                )
                gone.active = False
            else:
                continue
            await self._store.save_file(gone)

    @staticmethod
    def _is_work_folder(entry: Entry) -> bool:
        return entry.type is EntryType.FOLDER and entry.name in {w.value for w in WORK_FOLDERS}

    def _new_file(
        self, name: str, kind: FileKind | None, now: dt.datetime, entry: Entry
    ) -> TrackedFile:
        return TrackedFile(
            id=uuid.uuid4().hex,
            org_id=self._folder.org_id,
            campaign_id=self._folder.campaign_id,
            name=name,
            display_name=display_name(name),
            kind=kind,
            status=FileStatus.DETECTED,
            detected_at=now,
            updated_at=now,
            size_bytes=entry.size_bytes,
            mtime=entry.mtime,
            unchanged_since=now,
        )

    def _mark(self, file: TrackedFile, status: FileStatus, reason: str) -> None:
        file.status = status
        file.reason = reason
        file.updated_at = self._clock()

    def _complete(self, file: TrackedFile) -> bool:
        if file.marked_complete:
            return True
        since = file.unchanged_since or file.detected_at
        return (self._clock() - since).total_seconds() >= self._rules.settle_s

    # ---- batches ------------------------------------------------------------------------

    async def _move_open_batch_on(self) -> None:
        active = await self._store.active_files(self._folder.campaign_id)
        batch = await self._store.open_batch(self._folder.campaign_id)
        now = self._clock()
        for file in active:
            if file.batch_id or file.status is not FileStatus.DETECTED or file.kind is None:
                continue
            if batch is None:
                batch = self._new_batch(now)
            if file.kind is FileKind.CSV:
                if batch.csv_file_id:
                    continue  # one CSV per batch: this one opens the next batch
                batch.csv_file_id, batch.csv_file_name = file.id, file.display_name
            file.batch_id = batch.id
            await self._store.save_batch(batch)
            await self._store.save_file(file)
        if batch is None:
            return
        members = [f for f in active if f.batch_id == batch.id]
        csv_file = next((f for f in members if f.id == batch.csv_file_id), None)
        if csv_file is not None and self._complete(csv_file) and not batch.csv_read:
            await self._read_csv(batch, csv_file, members)
        plan = plan_batch(self._view(batch, members, csv_file))
        await self._apply(batch, plan, {f.id: f for f in members})
        if not plan.waiting:
            await self._process(batch)

    def _new_batch(self, now: dt.datetime) -> Batch:
        return Batch(
            id=uuid.uuid4().hex,
            org_id=self._folder.org_id,
            campaign_id=self._folder.campaign_id,
            status=BatchStatus.DETECTING,
            opened_at=now,
            window_ends_at=now + dt.timedelta(seconds=self._folder.batch_window_s),
            updated_at=now,
        )

    def _view(
        self, batch: Batch, members: list[TrackedFile], csv_file: TrackedFile | None
    ) -> BatchView:
        audio = [
            Candidate(f.id, f.display_name, self._complete(f))
            for f in members
            if f.kind is FileKind.AUDIO and f.status is FileStatus.DETECTED
        ]
        csv = (
            Candidate(csv_file.id, csv_file.display_name, self._complete(csv_file))
            if csv_file is not None
            else None
        )
        reading = (
            CsvReading(tuple(batch.csv_errors), tuple(batch.csv_rows)) if batch.csv_read else None
        )
        return BatchView(
            requirement=self._folder.csv,
            window_s=self._folder.batch_window_s,
            window_ends_at=batch.window_ends_at,
            now=self._clock(),
            audio=audio,
            csv=csv,
            reading=reading,
        )

    async def _read_csv(
        self, batch: Batch, csv_file: TrackedFile, members: list[TrackedFile]
    ) -> None:
        """Moves the CSV where customers cannot swap it, then has ingest read it."""
        if not await self._into_processing(csv_file):
            batch.csv_file_id, batch.csv_file_name = "", ""
            await self._store.save_batch(batch)
            return
        entry = await self._drop.lstat(self._folder.path_of(Location.PROCESSING, csv_file.name))
        limit_mb = self._rules.max_csv_bytes / (1024 * 1024)
        if entry is None or entry.type is not EntryType.FILE:
            errors: tuple[str, ...] = ("it is not a regular file",)
            rows: tuple[CsvRow, ...] = ()
        elif entry.size_bytes > self._rules.max_csv_bytes:
            errors = (
                f"it is {entry.size_bytes / (1024 * 1024):.1f} MB, larger than the "
                f"{limit_mb:g} MB limit; split it into smaller CSV files, one per batch",
            )
            rows = ()
        else:
            data = await self._drop.read(
                self._folder.path_of(Location.PROCESSING, csv_file.name),
                self._rules.max_csv_bytes,
            )
            names = [f.display_name for f in members if f.kind is FileKind.AUDIO]
            reading = await self._ingest.read_csv(
                self._folder.org_id, self._folder.campaign_id, data, names
            )
            errors, rows = reading.errors, reading.rows
        batch.csv_read = True
        batch.csv_errors = list(errors)
        batch.csv_rows = list(rows)
        await self._store.save_batch(batch)
        if errors:
            self._mark(csv_file, FileStatus.FAILED, "; ".join(errors))
        else:
            self._mark(csv_file, FileStatus.MATCHED, f"{len(rows)} row(s)")
        await self._store.save_file(csv_file)

    async def _apply(self, batch: Batch, plan: Plan, members: dict[str, TrackedFile]) -> None:
        now = self._clock()
        batch.reason = plan.reason
        batch.missing_files = list(plan.missing)
        batch.updated_at = now
        if plan.waiting:
            batch.status = plan.status
            await self._store.save_batch(batch)
            return
        for file_id in plan.release:
            members[file_id].batch_id = ""
            await self._store.save_file(members[file_id])
        for file_id, reason in plan.fail:
            self._mark(members[file_id], FileStatus.FAILED, reason)
            await self._store.save_file(members[file_id])
        for file_id, row in plan.process:
            self._match(members[file_id], row)
            await self._store.save_file(members[file_id])
        batch.status = BatchStatus.PROCESSING
        batch.batch_failed = plan.batch_failed
        batch.rejected_rows = list(plan.rejected_rows)
        batch.processing_started_at = now
        await self._store.save_batch(batch)

    def _match(self, file: TrackedFile, row: CsvRow | None) -> None:
        """The file's metadata and agent code, from its CSV row or its name."""
        metadata = {k: v for k, v in (row.metadata if row else {}).items() if v}
        notes = list(row.warnings) if row else []
        source = "csv" if metadata.get("agent_code") else ""
        if not source and self._folder.agent_pattern:
            try:
                code = parse_agent_pattern(self._folder.agent_pattern).code_in(file.display_name)
            except AgentPatternError as bad:
                code = None
                notes.append(f"the campaign's agent file-name pattern is not usable: {bad}")
            if code:
                metadata["agent_code"], source = code, "file_name"
            else:
                notes.append("the file name does not fit the campaign's agent file-name pattern")
        file.metadata = metadata
        file.agent_code = metadata.get("agent_code", "")
        file.agent_source = source
        file.csv_line = row.line if row else 0
        file.notes = "; ".join(notes)
        self._mark(file, FileStatus.MATCHED, file.notes)

    # ---- importing ----------------------------------------------------------------------

    async def _process(self, batch: Batch) -> None:
        """Imports the batch's matched files, settles them, and closes the batch when done."""
        for file in await self._store.batch_files(batch.id):
            if file.kind is not FileKind.AUDIO:
                continue
            if file.status in {FileStatus.MATCHED, FileStatus.PROCESSING}:
                if not await self._still_held():
                    return  # another replica holds the campaign now and carries on
                await self._import(file)
            elif file.status in FINAL_FILE_STATUSES and file.active:
                await self._settle(file)
        await self._close(batch)

    async def _import(self, file: TrackedFile) -> None:
        campaign = self._folder.campaign_id
        holder = await self._store.claim_name(campaign, file.display_name, file.id)
        if holder != file.id:
            when = await self._store.name_claimed_at(campaign, file.display_name)
            on = f" on {when:%Y-%m-%d %H:%M} UTC" if when else ""
            self._mark(
                file,
                FileStatus.DUPLICATE,
                f"a file named {file.display_name} was already imported for this campaign{on}; "
                "rename the file to import it again",
            )
            await self._store.save_file(file)
            await self._settle(file)
            return
        if file.status is not FileStatus.PROCESSING:
            self._mark(file, FileStatus.PROCESSING, file.notes)
            await self._store.save_file(file)
        if not await self._into_processing(file):
            await self._store.release_name(campaign, file.display_name, file.id)
            return
        path = self._folder.path_of(Location.PROCESSING, file.name)
        entry = await self._drop.lstat(path)
        if entry is None or entry.type is not EntryType.FILE:
            await self._fail(file, "it is not a regular file any more; only regular files are read")
            return
        request = UploadRequest(
            org_id=self._folder.org_id,
            campaign_id=campaign,
            file_name=file.display_name,
            metadata=file.metadata,
            size_bytes=entry.size_bytes,
            source_ref=file.id,
        )
        try:
            result = await self._ingest.upload(
                request, self._drop.stream(path, self._rules.chunk_bytes)
            )
        except UploadRefusedError as refused:
            await self._fail(file, str(refused))
            return
        except PermissionError:
            await self._fail(
                file,
                "the file cannot be read by Callscope (permission denied); give it read "
                "permission (e.g. mode 644) and drop it again",
            )
            return
        except (IngestUnavailableError, OSError) as trouble:
            file.attempts += 1
            if file.attempts >= self._rules.max_attempts:
                await self._fail(
                    file, f"could not be imported after {file.attempts} attempts: {trouble}"
                )
            else:
                file.reason = f"attempt {file.attempts} failed, trying again: {trouble}"
                await self._store.save_file(file)
            return
        file.call_id = result.call_id
        file.agent_code = result.agent_code or file.agent_code
        if result.duplicate_of:
            await self._store.release_name(campaign, file.display_name, file.id)
            self._mark(file, FileStatus.DUPLICATE, result.duplicate_reason)
        else:
            self._mark(file, FileStatus.COMPLETED, file.notes)
        await self._store.save_file(file)
        await self._settle(file)

    async def _into_processing(self, file: TrackedFile) -> bool:
        """Moves the file into processing/; False (and the file recorded) when it is gone."""
        if file.location is Location.PROCESSING:
            return True
        source = self._folder.path_of(Location.INBOX, file.name)
        target = self._folder.path_of(Location.PROCESSING, file.name)
        try:
            await self._drop.rename(source, target)
        except FileNotFoundError:
            if await self._drop.lstat(target) is None:  # not moved by an earlier attempt
                self._mark(
                    file, FileStatus.SKIPPED, "removed from the folder before it was imported"
                )
                file.active = False
                await self._store.save_file(file)
                return False
        except FileExistsError:
            await self._fail(
                file, "another file of the same name is being imported; drop it again later"
            )
            return False
        file.location = Location.PROCESSING
        await self._store.save_file(file)
        return True

    async def _fail(self, file: TrackedFile, reason: str) -> None:
        await self._store.release_name(self._folder.campaign_id, file.display_name, file.id)
        self._mark(file, FileStatus.FAILED, reason)
        await self._store.save_file(file)
        await self._settle(file)

    async def _settle(self, file: TrackedFile) -> None:
        """Moves a file with an outcome to processed/ or failed/ (with a reason file)."""
        if file.status is FileStatus.SKIPPED or not file.active:
            return
        target = Location.PROCESSED if file.status is FileStatus.COMPLETED else Location.FAILED
        if file.location is target:
            file.active = False
            await self._store.save_file(file)
            return
        moved = await self._move_free(file, target)
        if moved is None:
            file.active = False  # gone already (moved by an earlier attempt, or deleted)
            await self._store.save_file(file)
            return
        file.location, file.moved_name, file.active = target, moved, False
        await self._store.save_file(file)
        if target is Location.FAILED:
            await self._drop.write_text(
                self._folder.path_of(Location.FAILED, moved + REASON_SUFFIX),
                f"{file.display_name} was not imported ({file.status.value.lower()}).\n"
                f"Reason: {file.reason}\n",
            )
        await self._drop.remove(
            self._folder.path_of(Location.INBOX, file.name + COMPLETE_MARKER_SUFFIX)
        )

    async def _move_free(self, file: TrackedFile, target: Location) -> str | None:
        """Moves the file to the first free name in target; None when the source is gone."""
        source = self._folder.path_of(file.location, file.name)
        stem, dot, extension = file.name.rpartition(".")
        if not stem:
            stem, dot, extension = file.name, "", ""
        for n in range(MAX_NAME_SUFFIXES):
            name = file.name if n == 0 else f"{stem} ({n + 1}){dot}{extension}"
            try:
                await self._drop.rename(source, self._folder.path_of(target, name))
            except FileExistsError:
                continue
            except FileNotFoundError:
                return None
            return name
        raise OSError(f"no free name for {file.display_name} in {target.value}/")

    async def _settle_leftovers(self) -> None:
        """Files with an outcome that a crash kept from moving on, outside any open batch."""
        for file in await self._store.active_files(self._folder.campaign_id):
            if file.kind is not None and file.status in FINAL_FILE_STATUSES and not file.batch_id:
                await self._settle(file)

    async def _close(self, batch: Batch) -> None:
        files = await self._store.batch_files(batch.id)
        audio = [f for f in files if f.kind is FileKind.AUDIO]
        if any(f.status in {FileStatus.MATCHED, FileStatus.PROCESSING} for f in audio):
            return
        counts = FileCounts(
            total=len(audio),
            completed=sum(f.status is FileStatus.COMPLETED for f in audio),
            failed=sum(f.status is FileStatus.FAILED for f in audio),
            duplicates=sum(f.status is FileStatus.DUPLICATE for f in audio),
            skipped=sum(f.status is FileStatus.SKIPPED for f in audio),
            missing=len(batch.missing_files),
        )
        status = final_status(
            counts, rejected_rows=len(batch.rejected_rows), batch_failed=batch.batch_failed
        )
        csv_file = next((f for f in files if f.id == batch.csv_file_id), None)
        if csv_file is not None and csv_file.active:
            if csv_file.status is not FileStatus.FAILED:
                self._mark(csv_file, FileStatus.COMPLETED, csv_file.reason)
            await self._settle(csv_file)
        now = self._clock()
        batch.status, batch.counts = status, counts
        batch.reason = batch.reason if batch.batch_failed else _summary(counts, batch)
        batch.finished_at = batch.updated_at = now
        await self._store.save_batch(batch)
        logger.info(
            "sftp batch finished",
            extra={"batch_id": batch.id, "campaign_id": batch.campaign_id, "status": status},
        )


def _summary(counts: FileCounts, batch: Batch) -> str:
    """Why a batch is not simply COMPLETED, in a line."""
    parts = []
    if counts.failed:
        parts.append(f"{counts.failed} of {counts.total} file(s) failed")
    if batch.missing_files:
        shown = ", ".join(batch.missing_files[:5])
        more = len(batch.missing_files) - 5
        parts.append(
            f"{len(batch.missing_files)} file(s) named in {batch.csv_file_name} never arrived "
            f"({shown}{f' and {more} more' if more > 0 else ''})"
        )
    parts.extend(batch.rejected_rows[:5])
    return "; ".join(parts)
