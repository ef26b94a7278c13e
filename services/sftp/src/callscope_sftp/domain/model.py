"""What the sftp service records: campaigns' drop folders, batches of files, and the files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class BatchStatus(StrEnum):
    """The product guide's batch statuses."""

    DETECTING = "DETECTING"
    WAITING_FOR_CSV = "WAITING_FOR_CSV"
    WAITING_FOR_FILES = "WAITING_FOR_FILES"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    INCOMPLETE = "INCOMPLETE"
    FAILED = "FAILED"


# A batch in one of these still takes new files.
OPEN_BATCH_STATUSES = frozenset(
    {BatchStatus.DETECTING, BatchStatus.WAITING_FOR_CSV, BatchStatus.WAITING_FOR_FILES}
)


class FileStatus(StrEnum):
    """The product guide's file statuses."""

    DETECTED = "DETECTED"
    MATCHED = "MATCHED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    DUPLICATE = "DUPLICATE"
    SKIPPED = "SKIPPED"


# A file in one of these has its outcome; what may remain is moving it out of the way.
FINAL_FILE_STATUSES = frozenset(
    {FileStatus.COMPLETED, FileStatus.FAILED, FileStatus.DUPLICATE, FileStatus.SKIPPED}
)


class CsvRequirement(StrEnum):
    """Whether each batch needs a CSV of metadata."""

    OPTIONAL = "optional"
    REQUIRED = "required"


class FileKind(StrEnum):
    """What a tracked file is to its batch."""

    AUDIO = "audio"
    CSV = "csv"


class Location(StrEnum):
    """Where a file is, relative to its campaign folder."""

    INBOX = ""
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


# The sub-folders the service keeps in every campaign folder.
WORK_FOLDERS = (Location.PROCESSING, Location.PROCESSED, Location.FAILED)


@dataclass(frozen=True)
class CampaignFolder:
    """A campaign whose SFTP ingestion is on, with the settings that shape its batches."""

    org_id: str
    campaign_id: str
    campaign_name: str
    org_folder: str
    slug: str
    csv: CsvRequirement
    batch_window_s: int
    agent_pattern: str = ""

    @property
    def path(self) -> str:
        """The folder on the server, as the service's account sees it."""
        return f"/{self.org_folder}/{self.slug}"

    def folder_of(self, location: Location) -> str:
        """The path of the campaign folder or of one of its work folders."""
        return self.path if location is Location.INBOX else f"{self.path}/{location.value}"

    def path_of(self, location: Location, name: str) -> str:
        """A file's path in one of the folder's locations."""
        return f"{self.folder_of(location)}/{name}"


@dataclass
class TrackedFile:
    """One appearance of a file in a campaign folder, from detection to its final place.

    `name` is the name on the server (it may hold undecodable bytes as surrogates);
    `display_name` is the same name made safe to store and show.
    """

    id: str
    org_id: str
    campaign_id: str
    name: str
    display_name: str
    kind: FileKind | None
    status: FileStatus
    detected_at: dt.datetime
    updated_at: dt.datetime
    batch_id: str = ""
    reason: str = ""
    # What was noticed on matching (a neutralised formula cell, a name the agent pattern
    # does not fit); an imported file's reason.
    notes: str = ""
    size_bytes: int = 0
    mtime: int = 0
    # When the current size and mtime were first seen; stable after the settle time.
    unchanged_since: dt.datetime | None = None
    # The sender wrote `<name>.done`: the file is complete whatever its age.
    marked_complete: bool = False
    location: Location = Location.INBOX
    # The file's name in processed/ or failed/ when a file of that name was already there.
    moved_name: str = ""
    # False once the file reached its final place (or, for a skipped one, left the folder).
    active: bool = True
    csv_line: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    agent_code: str = ""
    agent_source: str = ""
    call_id: str = ""
    attempts: int = 0


@dataclass(frozen=True)
class CsvRow:
    """One row of a batch's CSV as ingest read it (its rules: columns, metadata, formulas)."""

    line: int
    file_name: str
    metadata: dict[str, str]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CsvReading:
    """A batch's CSV as ingest read it: problems of the whole CSV, or its rows."""

    errors: tuple[str, ...]
    rows: tuple[CsvRow, ...]


@dataclass
class FileCounts:
    """How a batch's files ended."""

    total: int = 0
    completed: int = 0
    failed: int = 0
    duplicates: int = 0
    skipped: int = 0
    missing: int = 0


@dataclass
class Batch:
    """Files that arrived in a campaign folder together, processed as one."""

    id: str
    org_id: str
    campaign_id: str
    status: BatchStatus
    opened_at: dt.datetime
    window_ends_at: dt.datetime
    updated_at: dt.datetime
    reason: str = ""
    csv_file_id: str = ""
    csv_file_name: str = ""
    # Set when the CSV was read: the problems of the CSV as a whole, if any.
    csv_read: bool = False
    csv_errors: list[str] = field(default_factory=list)
    # The CSV's rows as ingest read them (kept so the CSV is read once per batch).
    csv_rows: list[CsvRow] = field(default_factory=list)
    # CSV rows that can never match a file (no name, or a path).
    rejected_rows: list[str] = field(default_factory=list)
    # The batch failed as a whole: no CSV in time, or an unreadable CSV.
    batch_failed: bool = False
    missing_files: list[str] = field(default_factory=list)
    counts: FileCounts = field(default_factory=FileCounts)
    processing_started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
