"""What the sweeper talks to: the SFTP server, its own records, ingest and the directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from callscope_sftp.domain.entries import Entry
from callscope_sftp.domain.model import Batch, CampaignFolder, CsvReading, TrackedFile


class DropFolders(Protocol):
    """An open session with the SFTP server, as the service's account."""

    async def ensure_folder(self, path: str, mode: int) -> None:
        """Creates the folder with this mode unless it exists."""

    async def list(self, path: str) -> list[Entry]:
        """The folder's entries (links not followed), without `.` and `..`."""

    async def lstat(self, path: str) -> Entry | None:
        """The entry at path (a link is reported as a link), or None when there is none."""

    async def rename(self, source: str, target: str) -> None:
        """Moves an entry; FileExistsError when the target exists, FileNotFoundError when
        the source does not."""

    async def read(self, path: str, limit: int) -> bytes:
        """The whole file (at most limit bytes, else ValueError)."""

    def stream(self, path: str, chunk_bytes: int) -> AsyncIterator[bytes]:
        """The file's bytes in chunks, read as they are sent on."""

    async def write_text(self, path: str, text: str) -> None:
        """Creates (or replaces) a small text file."""

    async def remove(self, path: str) -> None:
        """Removes a file; no error when it is already gone."""


class FolderMissingError(Exception):
    """A campaign's folder cannot be made: the organisation's folder above it is missing
    (its SFTP account is not set up on the server yet)."""


class UploadRefusedError(Exception):
    """Ingest refused the file for good (bad audio, too large, invalid metadata, ...)."""


class IngestUnavailableError(Exception):
    """Ingest could not be reached or failed; the import is tried again later."""


@dataclass(frozen=True)
class UploadRequest:
    """One file to hand to ingest."""

    org_id: str
    campaign_id: str
    file_name: str
    metadata: dict[str, str]
    size_bytes: int
    # The file record's id: ingest makes one call per source_ref, however often it is sent.
    source_ref: str


@dataclass(frozen=True)
class UploadResult:
    """What ingest made of the file."""

    call_id: str
    duplicate_of: str = ""
    duplicate_reason: str = ""
    agent_code: str = ""
    agent_name: str = ""


class Ingest(Protocol):
    """Ingest's gRPC API, as far as the sweeper uses it."""

    async def read_csv(
        self, org_id: str, campaign_id: str, csv: bytes, file_names: Sequence[str]
    ) -> CsvReading:
        """Reads a CSV by ingest's bulk-upload rules."""

    async def upload(self, request: UploadRequest, chunks: AsyncIterator[bytes]) -> UploadResult:
        """Streams a file to ingest; UploadRefusedError or IngestUnavailableError."""


class Directory(Protocol):
    """The gateway's directory."""

    async def sftp_campaigns(self) -> list[CampaignFolder]:
        """Every campaign whose SFTP ingestion is on."""


class SftpStore(Protocol):
    """The service's own records: batches, files, name claims, leases, sweeper status."""

    async def active_files(self, campaign_id: str) -> list[TrackedFile]:
        """The files the service still tracks in the campaign folder, oldest first."""

    async def save_file(self, file: TrackedFile) -> None:
        """Inserts or replaces a file record."""

    async def open_batch(self, campaign_id: str) -> Batch | None:
        """The campaign's batch that still takes files, if any."""

    async def unfinished_batches(self, campaign_id: str) -> list[Batch]:
        """The campaign's batches being processed (not open, not final)."""

    async def get_batch(self, batch_id: str) -> Batch | None:
        """A batch by id."""

    async def save_batch(self, batch: Batch) -> None:
        """Inserts or replaces a batch record."""

    async def batch_files(self, batch_id: str) -> list[TrackedFile]:
        """Every file record of a batch."""

    async def claim_name(self, campaign_id: str, name: str, file_id: str) -> str:
        """Claims the file name for the campaign; returns the holder's file id (this one's
        when the claim is new or already this file's)."""

    async def release_name(self, campaign_id: str, name: str, file_id: str) -> None:
        """Gives the name back (the file was not imported), if this file holds it."""

    async def name_claimed_at(self, campaign_id: str, name: str) -> dt.datetime | None:
        """When the name was first imported, for the duplicate's reason."""

    async def hold_lease(self, campaign_id: str, replica_id: str) -> bool:
        """Whether this replica may work on the campaign now (takes or renews the lease)."""

    async def record_sweep(
        self, replica_id: str, server: str, error: str, campaigns_held: int
    ) -> None:
        """The replica's last sweep: empty error for a good one."""
