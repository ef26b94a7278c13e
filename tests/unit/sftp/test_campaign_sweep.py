"""CampaignSweep end to end in memory: a customer drops files into a campaign folder, sweeps
group them into batches, import them through ingest and move them to processed/ or failed/.

The fakes below implement the sweeper's ports (DropFolders, SftpStore, Ingest) the way
the real adapters behave; ingest's CSV reading is ingest's own rule (`preview_bulk_upload`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field

import pytest
from callscope_ingest.domain.bulk_csv import preview_bulk_upload
from callscope_sftp.domain.entries import Entry, EntryType
from callscope_sftp.domain.model import (
    OPEN_BATCH_STATUSES,
    Batch,
    BatchStatus,
    CampaignFolder,
    CsvReading,
    CsvRequirement,
    CsvRow,
    FileKind,
    FileStatus,
    Location,
    TrackedFile,
)
from callscope_sftp.ports import (
    IngestUnavailableError,
    UploadRefusedError,
    UploadRequest,
    UploadResult,
)
from callscope_sftp.sweeper import (
    CAMPAIGN_FOLDER_MODE,
    PROCESSING_FOLDER_MODE,
    RESULT_FOLDER_MODE,
    CampaignSweep,
    SweepRules,
)

T0 = dt.datetime(2026, 1, 15, 9, 0, 0, tzinfo=dt.UTC)
SETTLE_S = 10
WINDOW_S = 60
ORG_FOLDER = "/acme"
CAMPAIGN_PATH = "/acme/sales"
REPLICA = "replica-1"


# ---- fakes ---------------------------------------------------------------------------------


class Clock:
    """The sweeps' time, moved on by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class Node:
    """One entry on the fake server."""

    type: EntryType
    data: bytes = b""
    mtime: int = 0
    mode: int = 0
    # Reading it is refused (the customer left it mode 600 under another account).
    unreadable: bool = False


class MemoryDropFolders:
    """DropFolders over a dict of paths, with the server's rename and listing rules."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.nodes: dict[str, Node] = {"/": Node(EntryType.FOLDER)}
        self.modes: dict[str, int] = {}
        # Every path the sweeper asked about, read, moved or wrote.
        self.touched: list[str] = []
        # A path swapped for another node the moment the sweeper moves it (a race).
        self.swap_on_rename: dict[str, Node] = {}

    # -- what a customer does --

    def put(self, path: str, data: bytes = b"", kind: EntryType = EntryType.FILE) -> None:
        """Creates or overwrites an entry, as an upload does."""
        assert _parent(path) in self.nodes, f"no folder for {path}"
        self.nodes[path] = Node(kind, data, int(self._clock().timestamp()))

    def append(self, path: str, data: bytes) -> None:
        """Writes more of a file (an upload still going on)."""
        node = self.nodes[path]
        node.data += data
        node.mtime = int(self._clock().timestamp())

    def delete(self, path: str) -> None:
        """Removes an entry."""
        del self.nodes[path]

    def names(self, folder: str) -> set[str]:
        """The names directly in a folder."""
        return {p.rsplit("/", 1)[1] for p in self.nodes if p != "/" and _parent(p) == folder}

    def data(self, path: str) -> bytes:
        """A file's bytes."""
        return self.nodes[path].data

    # -- the port --

    async def ensure_folder(self, path: str, mode: int) -> None:
        """Creates the folder with this mode unless it exists."""
        self.touched.append(path)
        node = self.nodes.get(path)
        if node is not None:
            if node.type is not EntryType.FOLDER:
                raise OSError(f"{path} exists and is not a folder")
            return
        if _parent(path) not in self.nodes:
            raise FileNotFoundError(path)
        self.nodes[path] = Node(EntryType.FOLDER, mode=mode)
        self.modes[path] = mode

    async def lstat(self, path: str) -> Entry | None:
        """The entry at path (a link as a link), or None."""
        self.touched.append(path)
        node = self.nodes.get(path)
        return None if node is None else _entry(path.rsplit("/", 1)[1], node)

    async def rename(self, source: str, target: str) -> None:
        """Moves an entry without replacing an existing target."""
        self.touched.extend((source, target))
        if source not in self.nodes:
            raise FileNotFoundError(source)
        if target in self.nodes:
            raise FileExistsError(target)
        if _parent(target) not in self.nodes:
            raise FileNotFoundError(target)
        node = self.swap_on_rename.pop(source, None) or self.nodes[source]
        del self.nodes[source]
        self.nodes[target] = node

    async def read(self, path: str, limit: int) -> bytes:
        """The whole file, at most limit bytes."""
        data = self._readable(path).data
        if len(data) > limit:
            raise ValueError(f"{path} is larger than {limit} bytes")
        return data

    async def stream(self, path: str, chunk_bytes: int) -> AsyncIterator[bytes]:
        """The file in chunks."""
        data = self._readable(path).data
        for start in range(0, len(data), chunk_bytes):
            yield data[start : start + chunk_bytes]

    async def write_text(self, path: str, text: str) -> None:
        """Creates or replaces a small text file."""
        self.touched.append(path)
        self.put(path, text.encode())

    async def remove(self, path: str) -> None:
        """Removes a file if it is there."""
        self.touched.append(path)
        self.nodes.pop(path, None)

    def _readable(self, path: str) -> Node:
        self.touched.append(path)
        node = self.nodes.get(path)
        if node is None:
            raise FileNotFoundError(path)
        if node.unreadable:
            raise PermissionError(f"{path}: permission denied")
        return node

    # Last: inside the class, later annotations would read `list` as this method.
    async def list(self, path: str) -> list[Entry]:
        """The folder's entries, links not followed."""
        self.touched.append(path)
        return [
            _entry(p.rsplit("/", 1)[1], node)
            for p, node in self.nodes.items()
            if p != "/" and _parent(p) == path
        ]


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _entry(name: str, node: Node) -> Entry:
    return Entry(name=name, type=node.type, size_bytes=len(node.data), mtime=node.mtime)


class MemorySftpStore:
    """SftpStore in dicts; records are copied in and out as a database would."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.files: dict[str, TrackedFile] = {}
        self.batches: dict[str, Batch] = {}
        self.claims: dict[str, tuple[str, dt.datetime]] = {}
        self.lease_held = True
        self.sweeps: list[tuple[str, str, str, int]] = []

    async def active_files(self, campaign_id: str) -> list[TrackedFile]:
        """The campaign's tracked files, oldest first."""
        return self._sorted(
            f for f in self.files.values() if f.campaign_id == campaign_id and f.active
        )

    async def save_file(self, file: TrackedFile) -> None:
        """Inserts or replaces a file record."""
        self.files[file.id] = copy.deepcopy(file)

    async def open_batch(self, campaign_id: str) -> Batch | None:
        """The newest batch that still takes files."""
        open_ = [
            b
            for b in self.batches.values()
            if b.campaign_id == campaign_id and b.status in OPEN_BATCH_STATUSES
        ]
        return copy.deepcopy(max(open_, key=lambda b: b.opened_at)) if open_ else None

    async def unfinished_batches(self, campaign_id: str) -> list[Batch]:
        """The batches being processed, oldest first."""
        return [
            copy.deepcopy(b)
            for b in sorted(self.batches.values(), key=lambda b: b.opened_at)
            if b.campaign_id == campaign_id and b.status is BatchStatus.PROCESSING
        ]

    async def get_batch(self, batch_id: str) -> Batch | None:
        """A batch by id."""
        batch = self.batches.get(batch_id)
        return copy.deepcopy(batch) if batch else None

    async def save_batch(self, batch: Batch) -> None:
        """Inserts or replaces a batch."""
        self.batches[batch.id] = copy.deepcopy(batch)

    async def batch_files(self, batch_id: str) -> list[TrackedFile]:
        """Every file record of a batch, oldest first."""
        return self._sorted(f for f in self.files.values() if f.batch_id == batch_id)

    async def claim_name(self, campaign_id: str, name: str, file_id: str) -> str:
        """A unique key per campaign and name: the first claim holds it."""
        holder, _ = self.claims.setdefault(f"{campaign_id}|{name}", (file_id, self._clock()))
        return holder

    async def release_name(self, campaign_id: str, name: str, file_id: str) -> None:
        """Gives the name back if this file holds it."""
        key = f"{campaign_id}|{name}"
        if key in self.claims and self.claims[key][0] == file_id:
            del self.claims[key]

    async def name_claimed_at(self, campaign_id: str, name: str) -> dt.datetime | None:
        """When the name was claimed."""
        claim = self.claims.get(f"{campaign_id}|{name}")
        return claim[1] if claim else None

    async def hold_lease(self, campaign_id: str, replica_id: str) -> bool:
        """Held unless the test took it away."""
        return self.lease_held

    async def record_sweep(
        self, replica_id: str, server: str, error: str, campaigns_held: int
    ) -> None:
        """The replica's last sweep."""
        self.sweeps.append((replica_id, server, error, campaigns_held))

    @staticmethod
    def _sorted(files: Iterable[TrackedFile]) -> list[TrackedFile]:
        chosen = [copy.deepcopy(f) for f in files]
        return sorted(chosen, key=lambda f: (f.detected_at, f.id))


class SimulatedCrashError(Exception):
    """The sftp service died here (raised after ingest recorded the upload)."""


@dataclass
class ReceivedCall:
    """A call ingest made from an upload."""

    call_id: str
    request: UploadRequest
    data: bytes


@dataclass
class FakeIngest:
    """Ingest's CSV rule and upload: one call per source_ref, however often it is sent."""

    calls: dict[str, ReceivedCall] = field(default_factory=dict)
    # source_ref of every upload attempt, in order.
    sent: list[str] = field(default_factory=list)
    csv_reads: list[tuple[str, ...]] = field(default_factory=list)
    # file name -> ingest's words for refusing it.
    refusals: dict[str, str] = field(default_factory=dict)
    # file name -> (call it duplicates, why).
    duplicates: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Upload attempts that still find ingest down.
    unavailable_for: int = 0
    csv_unavailable_for: int = 0
    crash_after_recording: set[str] = field(default_factory=set)

    async def read_csv(
        self, org_id: str, campaign_id: str, csv: bytes, file_names: Sequence[str]
    ) -> CsvReading:
        """Ingest's bulk-upload reading, shaped as GrpcIngest shapes the answer."""
        if self.csv_unavailable_for:
            self.csv_unavailable_for -= 1
            raise IngestUnavailableError("ingest: UNAVAILABLE connection refused")
        self.csv_reads.append(tuple(file_names))
        preview = preview_bulk_upload(csv, file_names)
        return CsvReading(
            errors=preview.errors,
            rows=tuple(
                CsvRow(
                    line=row.line,
                    file_name=row.file_name,
                    metadata=dataclasses.asdict(row.metadata),
                    errors=row.errors,
                    warnings=row.warnings,
                )
                for row in preview.rows
            ),
        )

    async def upload(self, request: UploadRequest, chunks: AsyncIterator[bytes]) -> UploadResult:
        """Reads every chunk, then answers as ingest would."""
        self.sent.append(request.source_ref)
        data = b"".join([chunk async for chunk in chunks])
        if self.unavailable_for:
            self.unavailable_for -= 1
            raise IngestUnavailableError("ingest: UNAVAILABLE connection refused")
        if request.file_name in self.refusals:
            raise UploadRefusedError(self.refusals[request.file_name])
        earlier = self.calls.get(request.source_ref)
        if earlier is None:
            earlier = ReceivedCall(f"call-{len(self.calls) + 1}", request, data)
            self.calls[request.source_ref] = earlier
            if request.file_name in self.crash_after_recording:
                self.crash_after_recording.discard(request.file_name)
                raise SimulatedCrashError(request.file_name)
        duplicate_of, why = self.duplicates.get(request.file_name, ("", ""))
        return UploadResult(
            call_id=earlier.call_id,
            duplicate_of=duplicate_of,
            duplicate_reason=why,
            agent_code=earlier.request.metadata.get("agent_code", ""),
        )

    def received(self, file_name: str) -> list[ReceivedCall]:
        """The calls made from files of this name."""
        return [c for c in self.calls.values() if c.request.file_name == file_name]


@dataclass
class World:
    """A campaign folder on the fake server, the service's records and ingest."""

    folder: CampaignFolder
    clock: Clock
    drop: MemoryDropFolders
    store: MemorySftpStore
    ingest: FakeIngest
    rules: SweepRules

    async def sweep(self) -> None:
        """One sweep of the campaign by a freshly built CampaignSweep."""
        await CampaignSweep(
            self.folder,
            drop=self.drop,
            store=self.store,
            ingest=self.ingest,
            rules=self.rules,
            still_held=self._still_held,
            clock=self.clock,
        ).run()

    async def sweep_after(self, seconds: float) -> None:
        """Moves the clock on, then sweeps."""
        self.clock.advance(seconds)
        await self.sweep()

    async def _still_held(self) -> bool:
        return await self.store.hold_lease(self.folder.campaign_id, REPLICA)

    def campaign(self, **changes: object) -> None:
        """Changes the campaign's settings (as the directory would)."""
        self.folder = dataclasses.replace(self.folder, **changes)  # type: ignore[arg-type]

    def customer_drops(
        self, name: str, data: bytes = b"", kind: EntryType = EntryType.FILE
    ) -> None:
        """The customer uploads a file into the campaign folder."""
        self.drop.put(
            f"{CAMPAIGN_PATH}/{name}",
            data or f"audio of {name}".encode("utf-8", "surrogateescape"),
            kind,
        )

    def in_folder(self, location: Location = Location.INBOX) -> set[str]:
        """The names in the campaign folder or one of its work folders."""
        names = self.drop.names(self.folder.folder_of(location))
        if location is Location.INBOX:
            names -= {"processing", "processed", "failed"}
        return names

    def text(self, location: Location, name: str) -> str:
        """A text file the service wrote."""
        return self.drop.data(self.folder.path_of(location, name)).decode()

    def records(self, name: str) -> list[TrackedFile]:
        """Every record of files of this name, oldest first."""
        found = [f for f in self.store.files.values() if f.name == name]
        return sorted(found, key=lambda f: f.detected_at)

    def record(self, name: str) -> TrackedFile:
        """The newest record of a file of this name."""
        found = self.records(name)
        assert found, f"no record of {name!r}"
        return found[-1]

    def batches(self) -> list[Batch]:
        """Every batch, oldest first."""
        return sorted(self.store.batches.values(), key=lambda b: b.opened_at)

    def only_batch(self) -> Batch:
        """The one batch there is."""
        batches = self.batches()
        assert len(batches) == 1, [(b.status, b.reason) for b in batches]
        return batches[0]


@pytest.fixture
def world() -> World:
    clock = Clock()
    drop = MemoryDropFolders(clock)
    drop.put(ORG_FOLDER, kind=EntryType.FOLDER)
    drop.put(CAMPAIGN_PATH, kind=EntryType.FOLDER)
    return World(
        folder=CampaignFolder(
            org_id="org-1",
            campaign_id="campaign-1",
            campaign_name="Sales",
            org_folder="acme",
            slug="sales",
            csv=CsvRequirement.OPTIONAL,
            batch_window_s=WINDOW_S,
        ),
        clock=clock,
        drop=drop,
        store=MemorySftpStore(clock),
        ingest=FakeIngest(),
        rules=SweepRules(settle_s=SETTLE_S, max_csv_bytes=1024 * 1024, chunk_bytes=4),
    )


CSV = (
    b"file_name,agent_code,call_type,customer_id\n"
    b"a.wav,JS001,inbound,C-1\n"
    b"b.wav,AB12,outbound,C-2\n"
)


# ---- the folder ----------------------------------------------------------------------------


async def test_the_first_sweep_makes_the_work_folders_with_their_modes(world: World) -> None:
    world.drop.delete(CAMPAIGN_PATH)
    await world.sweep()
    assert world.drop.modes == {
        CAMPAIGN_PATH: CAMPAIGN_FOLDER_MODE,
        f"{CAMPAIGN_PATH}/processing": PROCESSING_FOLDER_MODE,
        f"{CAMPAIGN_PATH}/processed": RESULT_FOLDER_MODE,
        f"{CAMPAIGN_PATH}/failed": RESULT_FOLDER_MODE,
    }
    assert world.store.files == {}
    assert world.store.batches == {}


# ---- batches -------------------------------------------------------------------------------


async def test_audio_and_csv_dropped_together_are_one_completed_batch(world: World) -> None:
    world.customer_drops("a.wav", b"RIFF-a-0123456789")
    world.customer_drops("b.wav", b"RIFF-b")
    world.customer_drops("batch.csv", CSV)

    await world.sweep()
    assert world.only_batch().status is BatchStatus.DETECTING  # nothing has settled yet
    assert world.ingest.sent == []

    await world.sweep_after(SETTLE_S)

    batch = world.only_batch()
    assert batch.status is BatchStatus.COMPLETED
    assert batch.counts.total == 2 and batch.counts.completed == 2
    assert batch.csv_file_name == "batch.csv"
    assert batch.finished_at == world.clock.now
    a, b = world.record("a.wav"), world.record("b.wav")
    assert (a.status, b.status) == (FileStatus.COMPLETED, FileStatus.COMPLETED)
    assert a.metadata == {"agent_code": "JS001", "call_type": "INBOUND", "customer_id": "C-1"}
    assert (a.agent_code, a.agent_source, a.csv_line) == ("JS001", "csv", 2)
    assert (b.agent_code, b.csv_line) == ("AB12", 3)
    assert a.call_id == world.ingest.calls[a.id].call_id
    assert world.record("batch.csv").status is FileStatus.COMPLETED

    sent = world.ingest.calls[a.id]
    assert sent.data == b"RIFF-a-0123456789"
    assert sent.request.file_name == "a.wav"
    assert sent.request.size_bytes == len(b"RIFF-a-0123456789")
    assert sent.request.metadata["call_type"] == "INBOUND"
    assert (sent.request.org_id, sent.request.campaign_id) == ("org-1", "campaign-1")
    assert [sorted(names) for names in world.ingest.csv_reads] == [["a.wav", "b.wav"]]

    assert world.in_folder() == set()
    assert world.in_folder(Location.PROCESSED) == {"a.wav", "b.wav", "batch.csv"}
    assert world.in_folder(Location.PROCESSING) == set()
    assert world.in_folder(Location.FAILED) == set()
    assert not any(f.active for f in world.store.files.values())


async def test_a_required_csv_that_never_comes_fails_the_batch_and_explains(
    world: World,
) -> None:
    world.campaign(csv=CsvRequirement.REQUIRED)
    world.customer_drops("a.wav")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    batch = world.only_batch()
    assert batch.status is BatchStatus.WAITING_FOR_CSV
    assert "needs a CSV" in batch.reason
    assert world.record("a.wav").status is FileStatus.DETECTED
    assert world.in_folder() == {"a.wav"}

    await world.sweep_after(WINDOW_S)

    batch = world.only_batch()
    assert batch.status is BatchStatus.FAILED
    assert "no CSV arrived within the batch window (60 s)" in batch.reason
    assert batch.counts.failed == 1
    a = world.record("a.wav")
    assert a.status is FileStatus.FAILED
    assert a.reason == batch.reason
    assert world.ingest.sent == []
    assert world.in_folder() == set()
    assert world.in_folder(Location.FAILED) == {"a.wav", "a.wav.reason.txt"}
    reason = world.text(Location.FAILED, "a.wav.reason.txt")
    assert reason.startswith("a.wav was not imported (failed).\nReason: no CSV arrived")


async def test_a_csv_first_and_its_audio_later_waits_for_the_files_then_completes(
    world: World,
) -> None:
    world.campaign(csv=CsvRequirement.REQUIRED)
    world.customer_drops("batch.csv", b"file_name,agent_name\na.wav,Jane Smith\n")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    batch = world.only_batch()
    assert batch.status is BatchStatus.WAITING_FOR_FILES
    assert batch.missing_files == ["a.wav"]
    assert "a.wav" in batch.reason
    assert world.in_folder(Location.PROCESSING) == {"batch.csv"}  # read where none can swap it

    world.clock.advance(20)
    world.customer_drops("a.wav", b"late audio")
    await world.sweep()
    batch = world.only_batch()
    assert batch.status is BatchStatus.WAITING_FOR_FILES  # there, but still being written
    assert batch.missing_files == []

    await world.sweep_after(SETTLE_S)
    batch = world.only_batch()
    assert batch.status is BatchStatus.COMPLETED
    assert batch.missing_files == []
    a = world.record("a.wav")
    assert a.status is FileStatus.COMPLETED
    assert a.metadata == {"agent_name": "Jane Smith"}
    assert world.ingest.received("a.wav")[0].data == b"late audio"
    assert world.in_folder(Location.PROCESSED) == {"a.wav", "batch.csv"}


async def test_files_the_csv_names_that_never_come_leave_the_batch_incomplete(
    world: World,
) -> None:
    world.customer_drops("a.wav")
    world.customer_drops("batch.csv", CSV)
    await world.sweep()
    await world.sweep_after(SETTLE_S)
    assert world.only_batch().status is BatchStatus.WAITING_FOR_FILES

    await world.sweep_after(WINDOW_S)
    batch = world.only_batch()
    assert batch.status is BatchStatus.INCOMPLETE
    assert batch.missing_files == ["b.wav"]
    assert batch.counts.completed == 1 and batch.counts.missing == 1
    assert "1 file(s) named in batch.csv never arrived (b.wav)" in batch.reason
    assert world.record("a.wav").status is FileStatus.COMPLETED


async def test_optional_csv_audio_alone_is_imported_without_metadata_after_the_window(
    world: World,
) -> None:
    world.customer_drops("a.wav")
    await world.sweep()
    await world.sweep_after(SETTLE_S)
    assert world.only_batch().status is BatchStatus.DETECTING
    assert world.ingest.sent == []

    await world.sweep_after(WINDOW_S)
    assert world.only_batch().status is BatchStatus.COMPLETED
    a = world.record("a.wav")
    assert a.status is FileStatus.COMPLETED
    assert (a.metadata, a.csv_line, a.agent_source) == ({}, 0, "")


async def test_an_unreadable_csv_fails_the_batch_with_ingests_words(world: World) -> None:
    world.customer_drops("a.wav")
    world.customer_drops("batch.csv", b"name;agent\na.wav;x\n")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    batch = world.only_batch()
    assert batch.status is BatchStatus.FAILED
    assert batch.reason.startswith("the CSV batch.csv cannot be used: the CSV has no file_name")
    csv_file = world.record("batch.csv")
    assert csv_file.status is FileStatus.FAILED
    assert "no file_name column" in csv_file.reason
    assert world.record("a.wav").status is FileStatus.FAILED
    assert world.in_folder(Location.FAILED) == {
        "a.wav",
        "a.wav.reason.txt",
        "batch.csv",
        "batch.csv.reason.txt",
    }
    assert world.ingest.sent == []


async def test_a_csv_over_the_size_limit_is_refused_unread(world: World) -> None:
    world.customer_drops("a.wav")
    world.customer_drops("batch.csv", b"file_name\n" + b"a.wav\n" * 200_000)
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    batch = world.only_batch()
    assert batch.status is BatchStatus.FAILED
    assert "larger than the 1 MB limit" in batch.reason
    assert world.ingest.csv_reads == []
    assert world.in_folder(Location.FAILED) >= {"batch.csv", "a.wav"}


async def test_a_csv_row_with_a_path_is_rejected_and_nothing_outside_is_read(
    world: World,
) -> None:
    world.drop.put("/acme/other-campaign", kind=EntryType.FOLDER)
    world.drop.put("/acme/other-campaign/x.mp3", b"someone else's call")
    world.customer_drops("a.wav")
    world.customer_drops("x.mp3", b"our x")
    world.customer_drops("batch.csv", b"file_name\na.wav\n../../other-campaign/x.mp3\n")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    batch = world.only_batch()
    assert batch.status is BatchStatus.INCOMPLETE
    assert batch.missing_files == []
    assert len(batch.rejected_rows) == 1 and "looks like a path" in batch.rejected_rows[0]
    assert "looks like a path" in batch.reason
    assert world.record("a.wav").status is FileStatus.COMPLETED
    # Optional CSV: the folder's own x.mp3 is imported without a row, never the other one.
    assert world.ingest.received("x.mp3")[0].data == b"our x"
    assert world.drop.data("/acme/other-campaign/x.mp3") == b"someone else's call"
    assert all(p.startswith(f"{CAMPAIGN_PATH}") for p in world.drop.touched)


async def test_a_row_with_errors_fails_its_file_with_the_rows_words(world: World) -> None:
    world.customer_drops("a.wav")
    world.customer_drops("b.wav")
    world.customer_drops("batch.csv", b"file_name,call_date\na.wav,2026-01-15\nb.wav,15/01/2026\n")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    batch = world.only_batch()
    assert batch.status is BatchStatus.INCOMPLETE
    assert batch.counts.completed == 1 and batch.counts.failed == 1
    b = world.record("b.wav")
    assert b.status is FileStatus.FAILED
    assert b.reason == "batch.csv: line 3: call_date must be a date as YYYY-MM-DD, not '15/01/2026'"
    assert world.ingest.received("b.wav") == []
    assert "call_date must be a date" in world.text(Location.FAILED, "b.wav.reason.txt")


async def test_a_formula_cell_is_imported_neutralised_and_the_file_says_so(
    world: World,
) -> None:
    world.customer_drops("a.wav")
    world.customer_drops("batch.csv", b"file_name,customer_id\na.wav,=cmd|' /C calc'!A0\n")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    a = world.record("a.wav")
    assert a.status is FileStatus.COMPLETED
    assert a.metadata == {"customer_id": "'=cmd|' /C calc'!A0"}
    assert world.ingest.received("a.wav")[0].request.metadata["customer_id"].startswith("'=")
    # The customer sees why the value changed.
    assert "formula" in a.reason


# ---- files still being written ------------------------------------------------------------


async def test_a_growing_file_is_imported_only_once_it_has_settled(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.customer_drops("a.wav", b"part-1;")
    await world.sweep()
    for more in (b"part-2;", b"part-3;"):
        world.clock.advance(SETTLE_S)
        world.drop.append(f"{CAMPAIGN_PATH}/a.wav", more)
        await world.sweep()
        assert world.ingest.sent == []
        assert world.record("a.wav").status is FileStatus.DETECTED
        assert world.only_batch().status is BatchStatus.DETECTING

    await world.sweep_after(SETTLE_S - 1)
    assert world.ingest.sent == []

    await world.sweep_after(1)
    assert world.ingest.received("a.wav")[0].data == b"part-1;part-2;part-3;"
    assert world.record("a.wav").status is FileStatus.COMPLETED
    assert world.only_batch().status is BatchStatus.COMPLETED


async def test_a_done_marker_imports_at_once_and_is_removed(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.customer_drops("a.wav", b"complete audio")
    world.customer_drops("a.wav.done", b"")
    await world.sweep()

    a = world.record("a.wav")
    assert a.status is FileStatus.COMPLETED
    assert a.marked_complete
    assert world.ingest.received("a.wav")[0].data == b"complete audio"
    assert world.in_folder() == set()
    assert world.in_folder(Location.PROCESSED) == {"a.wav"}
    assert world.records("a.wav.done") == []  # a marker, not a file


async def test_a_done_marker_written_after_the_file_imports_it_without_waiting(
    world: World,
) -> None:
    world.campaign(batch_window_s=0)
    world.customer_drops("a.wav")
    await world.sweep()
    assert world.ingest.sent == []

    world.clock.advance(1)
    world.customer_drops("a.wav.done")
    await world.sweep()
    assert world.record("a.wav").status is FileStatus.COMPLETED
    assert world.in_folder() == set()


async def test_a_file_removed_before_it_was_imported_is_skipped(world: World) -> None:
    world.customer_drops("a.wav")
    await world.sweep()
    world.drop.delete(f"{CAMPAIGN_PATH}/a.wav")
    await world.sweep_after(SETTLE_S)

    a = world.record("a.wav")
    assert a.status is FileStatus.SKIPPED
    assert a.reason == "removed from the folder before it was imported"
    assert not a.active


# ---- outcomes ------------------------------------------------------------------------------


async def test_the_same_name_dropped_again_after_import_is_a_duplicate(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.customer_drops("a.wav", b"first")
    await world.sweep()
    await world.sweep_after(SETTLE_S)
    assert world.record("a.wav").status is FileStatus.COMPLETED
    imported_at = world.clock.now

    world.clock.advance(3600)
    world.customer_drops("a.wav", b"second")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    first, again = world.records("a.wav")
    assert first.status is FileStatus.COMPLETED
    assert again.status is FileStatus.DUPLICATE
    assert again.reason == (
        f"a file named a.wav was already imported for this campaign on "
        f"{imported_at:%Y-%m-%d %H:%M} UTC; rename the file to import it again"
    )
    assert [c.data for c in world.ingest.received("a.wav")] == [b"first"]
    assert world.in_folder(Location.PROCESSED) == {"a.wav"}
    assert world.in_folder(Location.FAILED) == {"a.wav", "a.wav.reason.txt"}
    assert world.drop.data(f"{CAMPAIGN_PATH}/failed/a.wav") == b"second"
    assert "(duplicate)" in world.text(Location.FAILED, "a.wav.reason.txt")
    assert world.batches()[-1].counts.duplicates == 1


async def test_a_duplicate_ingest_finds_is_a_duplicate_with_ingests_reason(world: World) -> None:
    world.campaign(batch_window_s=0)
    why = "the same audio was uploaded on 2026-01-14 as call-7"
    world.ingest.duplicates["b.wav"] = ("call-7", why)
    world.customer_drops("b.wav")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    b = world.record("b.wav")
    assert (b.status, b.reason) == (FileStatus.DUPLICATE, why)
    assert world.in_folder(Location.FAILED) == {"b.wav", "b.wav.reason.txt"}
    assert world.store.claims == {}  # the name was not imported: it is free again


async def test_a_refused_file_fails_with_ingests_words_and_its_name_stays_free(
    world: World,
) -> None:
    world.campaign(batch_window_s=0)
    refusal = "the file is not audio ffmpeg can read (text/plain); export it as WAV or MP3"
    world.ingest.refusals["a.wav"] = refusal
    world.customer_drops("a.wav", b"not audio")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    a = world.record("a.wav")
    assert (a.status, a.reason) == (FileStatus.FAILED, refusal)
    assert world.only_batch().status is BatchStatus.FAILED
    assert world.in_folder(Location.FAILED) == {"a.wav", "a.wav.reason.txt"}
    assert refusal in world.text(Location.FAILED, "a.wav.reason.txt")

    # Fixed and dropped again under the same name: imported, not a duplicate.
    del world.ingest.refusals["a.wav"]
    world.customer_drops("a.wav", b"real audio")
    await world.sweep_after(1)
    await world.sweep_after(SETTLE_S)
    assert world.record("a.wav").status is FileStatus.COMPLETED
    assert world.in_folder(Location.PROCESSED) == {"a.wav"}


async def test_a_second_failure_of_the_same_name_gets_a_free_name_in_failed(
    world: World,
) -> None:
    world.campaign(batch_window_s=0)
    world.ingest.refusals["a.wav"] = "not audio"
    for content in (b"first try", b"second try"):
        world.customer_drops("a.wav", content)
        await world.sweep_after(1)
        await world.sweep_after(SETTLE_S)

    first, second = world.records("a.wav")
    assert (first.moved_name, second.moved_name) == ("a.wav", "a (2).wav")
    assert world.in_folder(Location.FAILED) == {
        "a.wav",
        "a.wav.reason.txt",
        "a (2).wav",
        "a (2).wav.reason.txt",
    }
    assert world.drop.data(f"{CAMPAIGN_PATH}/failed/a (2).wav") == b"second try"
    assert world.text(Location.FAILED, "a (2).wav.reason.txt").startswith("a.wav was not")


async def test_an_unreadable_file_fails_with_words_that_say_how_to_fix_it(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.customer_drops("a.wav")
    world.drop.nodes[f"{CAMPAIGN_PATH}/a.wav"].unreadable = True
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    a = world.record("a.wav")
    assert a.status is FileStatus.FAILED
    assert "permission denied" in a.reason and "mode 644" in a.reason
    assert world.in_folder(Location.FAILED) == {"a.wav", "a.wav.reason.txt"}


async def test_ingest_down_is_tried_again_next_sweep(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.ingest.unavailable_for = 1
    world.customer_drops("a.wav")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    a = world.record("a.wav")
    assert a.status is FileStatus.PROCESSING
    assert a.attempts == 1
    assert "attempt 1 failed, trying again: ingest: UNAVAILABLE" in a.reason
    assert world.only_batch().status is BatchStatus.PROCESSING
    assert world.in_folder(Location.PROCESSING) == {"a.wav"}

    await world.sweep_after(SETTLE_S)
    a = world.record("a.wav")
    assert a.status is FileStatus.COMPLETED
    assert world.only_batch().status is BatchStatus.COMPLETED
    assert len(world.ingest.calls) == 1
    assert world.in_folder(Location.PROCESSED) == {"a.wav"}


async def test_a_file_imported_on_a_later_attempt_does_not_keep_the_attempts_reason(
    world: World,
) -> None:
    world.campaign(batch_window_s=0)
    world.ingest.unavailable_for = 1
    world.customer_drops("a.wav")
    await world.sweep()
    await world.sweep_after(SETTLE_S)
    await world.sweep_after(SETTLE_S)

    a = world.record("a.wav")
    assert a.status is FileStatus.COMPLETED
    assert "trying again" not in a.reason


async def test_ingest_down_for_every_attempt_fails_the_file(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.rules = dataclasses.replace(world.rules, max_attempts=3)
    world.ingest.unavailable_for = 100
    world.customer_drops("a.wav")
    await world.sweep()
    for _ in range(3):
        await world.sweep_after(SETTLE_S)

    a = world.record("a.wav")
    assert a.status is FileStatus.FAILED
    assert a.reason.startswith("could not be imported after 3 attempts: ingest: UNAVAILABLE")
    assert world.ingest.sent == [a.id] * 3
    assert world.only_batch().status is BatchStatus.FAILED
    assert world.in_folder(Location.FAILED) == {"a.wav", "a.wav.reason.txt"}
    assert world.store.claims == {}

    await world.sweep_after(SETTLE_S)
    assert len(world.ingest.sent) == 3  # nothing more is tried


async def test_a_csv_read_while_ingest_is_down_is_read_on_a_later_sweep(world: World) -> None:
    world.ingest.csv_unavailable_for = 1
    world.customer_drops("a.wav")
    world.customer_drops("batch.csv", CSV)
    await world.sweep()
    world.clock.advance(SETTLE_S)
    with contextlib.suppress(IngestUnavailableError):  # the sweep loop logs it
        await world.sweep()
    assert world.ingest.csv_reads == []

    await world.sweep_after(SETTLE_S)
    assert world.ingest.csv_reads == [("a.wav",)]
    assert world.only_batch().status is BatchStatus.WAITING_FOR_FILES  # b.wav never came
    await world.sweep_after(WINDOW_S)
    assert world.only_batch().status is BatchStatus.INCOMPLETE
    assert world.record("a.wav").metadata["agent_code"] == "JS001"


# ---- leases and restarts ------------------------------------------------------------------


async def test_a_lost_lease_stops_importing_and_the_holder_carries_on(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.customer_drops("a.wav")
    world.customer_drops("b.wav")
    await world.sweep()
    world.store.lease_held = False
    await world.sweep_after(SETTLE_S)

    assert world.ingest.sent == []
    assert world.only_batch().status is BatchStatus.PROCESSING
    assert {world.record(n).status for n in ("a.wav", "b.wav")} == {FileStatus.MATCHED}
    assert world.in_folder() == {"a.wav", "b.wav"}

    world.store.lease_held = True
    await world.sweep_after(SETTLE_S)
    assert world.only_batch().status is BatchStatus.COMPLETED
    assert sorted(c.request.file_name for c in world.ingest.calls.values()) == ["a.wav", "b.wav"]


async def test_a_crash_after_ingest_made_the_call_resends_the_same_source_ref(
    world: World,
) -> None:
    world.campaign(batch_window_s=0)
    world.ingest.crash_after_recording.add("a.wav")
    world.customer_drops("a.wav", b"audio a")
    world.customer_drops("b.wav", b"audio b")
    await world.sweep()
    world.clock.advance(SETTLE_S)
    with pytest.raises(SimulatedCrashError):
        await world.sweep()

    a = world.record("a.wav")
    assert a.status is FileStatus.PROCESSING
    assert a.call_id == ""  # the answer never came back
    assert world.only_batch().status is BatchStatus.PROCESSING

    await world.sweep_after(SETTLE_S)  # the restarted service: a new CampaignSweep

    a = world.record("a.wav")
    assert a.status is FileStatus.COMPLETED
    assert world.ingest.sent.count(a.id) == 2
    assert a.call_id == world.ingest.calls[a.id].call_id
    assert len(world.ingest.calls) == 2  # one call per file, none twice
    assert [c.data for c in world.ingest.received("a.wav")] == [b"audio a"]
    assert world.only_batch().status is BatchStatus.COMPLETED
    assert world.only_batch().counts.completed == 2
    assert world.in_folder(Location.PROCESSED) == {"a.wav", "b.wav"}
    assert world.in_folder(Location.PROCESSING) == set()


# ---- hostile entries ------------------------------------------------------------------------


async def test_a_symlink_and_a_hidden_file_are_skipped_and_left_in_place(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.customer_drops("link.wav", b"/etc/passwd", EntryType.LINK)
    world.customer_drops(".upload-in-progress.wav")
    world.customer_drops("notes.txt")
    world.customer_drops("sub", kind=EntryType.FOLDER)
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    link = world.record("link.wav")
    assert link.status is FileStatus.SKIPPED
    assert "symbolic link" in link.reason
    assert link.kind is None
    hidden = world.record(".upload-in-progress.wav")
    assert hidden.status is FileStatus.SKIPPED
    assert "hidden file" in hidden.reason
    assert "(.txt)" in world.record("notes.txt").reason
    assert "folder" in world.record("sub").reason
    assert world.in_folder() == {"link.wav", ".upload-in-progress.wav", "notes.txt", "sub"}
    assert world.in_folder(Location.FAILED) == set()
    assert world.ingest.sent == []
    assert world.store.batches == {}
    assert len(world.store.files) == 4  # recorded once, however many sweeps see them


async def test_a_skipped_entry_that_goes_away_is_no_longer_tracked(world: World) -> None:
    world.customer_drops(".hidden.wav")
    await world.sweep()
    world.drop.delete(f"{CAMPAIGN_PATH}/.hidden.wav")
    await world.sweep_after(1)
    hidden = world.record(".hidden.wav")
    assert (hidden.status, hidden.active) == (FileStatus.SKIPPED, False)


async def test_hostile_names_are_skipped_and_stored_as_safe_names(world: World) -> None:
    not_utf8 = b"bad\xff.wav".decode("utf-8", "surrogateescape")
    world.customer_drops(not_utf8)
    world.customer_drops("evil\n.wav")
    await world.sweep()

    bad = world.record(not_utf8)
    assert bad.status is FileStatus.SKIPPED
    assert bad.display_name == "bad?.wav"
    assert "not valid UTF-8" in bad.reason
    evil = world.record("evil\n.wav")
    assert evil.display_name == "evil?.wav"
    assert "control characters" in evil.reason
    assert world.store.batches == {}


async def test_a_file_swapped_for_a_link_while_it_is_moved_is_never_read(world: World) -> None:
    world.campaign(batch_window_s=0)
    world.customer_drops("a.wav", b"checked audio")
    await world.sweep()
    world.drop.swap_on_rename[f"{CAMPAIGN_PATH}/a.wav"] = Node(EntryType.LINK, b"/etc/shadow")
    await world.sweep_after(SETTLE_S)

    a = world.record("a.wav")
    assert a.status is FileStatus.FAILED
    assert "not a regular file" in a.reason
    assert world.ingest.sent == []
    assert world.in_folder(Location.FAILED) == {"a.wav", "a.wav.reason.txt"}


# ---- agent codes ---------------------------------------------------------------------------


async def test_the_agent_pattern_fills_the_agent_code_when_the_csv_has_none(
    world: World,
) -> None:
    world.campaign(batch_window_s=0, agent_pattern="*_{agent}_*.wav")
    world.customer_drops("call_JS001_20260115.wav")
    world.customer_drops("nocode.wav")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    call = world.record("call_JS001_20260115.wav")
    assert call.status is FileStatus.COMPLETED
    assert (call.agent_code, call.agent_source) == ("JS001", "file_name")
    assert call.metadata == {"agent_code": "JS001"}
    sent = world.ingest.received("call_JS001_20260115.wav")[0]
    assert sent.request.metadata == {"agent_code": "JS001"}

    other = world.record("nocode.wav")
    assert other.status is FileStatus.COMPLETED
    assert (other.agent_code, other.agent_source) == ("", "")


async def test_the_agent_pattern_fills_a_csv_row_without_an_agent_code(world: World) -> None:
    world.campaign(agent_pattern="*_{agent}_*.wav")
    world.customer_drops("call_JS001_x.wav")
    world.customer_drops("batch.csv", b"file_name,agent_name\ncall_JS001_x.wav,Jane\n")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    call = world.record("call_JS001_x.wav")
    assert call.metadata == {"agent_name": "Jane", "agent_code": "JS001"}
    assert (call.agent_source, call.csv_line) == ("file_name", 2)


async def test_the_csv_rows_agent_code_wins_over_the_pattern(world: World) -> None:
    world.campaign(agent_pattern="*_{agent}_*.wav")
    world.customer_drops("call_JS001_x.wav")
    world.customer_drops("batch.csv", b"file_name,agent_code\ncall_JS001_x.wav,AB12\n")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    call = world.record("call_JS001_x.wav")
    assert (call.agent_code, call.agent_source) == ("AB12", "csv")
    assert world.ingest.received("call_JS001_x.wav")[0].request.metadata["agent_code"] == "AB12"


async def test_a_name_the_agent_pattern_cannot_read_does_not_stop_the_sweep(
    world: World,
) -> None:
    # "İ".lower() is two characters long: the lower-cased name is longer than the name.
    world.campaign(batch_window_s=0, agent_pattern="*_{agent}.wav")
    world.customer_drops("İİİİİ_AB.wav")
    world.customer_drops("b.wav")
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    assert world.record("b.wav").status is FileStatus.COMPLETED
    odd = world.record("İİİİİ_AB.wav")
    assert odd.status is FileStatus.COMPLETED
    assert odd.agent_code == "AB"


async def test_files_are_kinds_of_their_extension(world: World) -> None:
    world.customer_drops("A.WAV")
    world.customer_drops("meta.CSV", b"file_name\nA.WAV\n")
    await world.sweep()
    assert world.record("A.WAV").kind is FileKind.AUDIO
    assert world.record("meta.CSV").kind is FileKind.CSV
    await world.sweep_after(SETTLE_S)
    assert world.only_batch().status is BatchStatus.COMPLETED


async def test_a_name_with_an_invisible_character_still_matches_its_csv_row(
    world: World,
) -> None:
    # A zero-width space (Unicode format character), as copy and paste leaves in names;
    # the CSV names the file exactly as it is on the server.
    name = "call\u200b_001.wav"
    world.customer_drops(name)
    world.customer_drops("batch.csv", f"file_name,agent_code\n{name},JS001\n".encode())
    await world.sweep()
    await world.sweep_after(SETTLE_S)

    batch = world.only_batch()
    assert batch.missing_files == []
    assert batch.status is BatchStatus.COMPLETED
    call = world.record(name)
    assert (call.status, call.agent_code, call.csv_line) == (FileStatus.COMPLETED, "JS001", 2)
