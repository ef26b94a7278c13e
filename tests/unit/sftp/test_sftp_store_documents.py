"""The sftp service's records as MongoDB stores them: every record the sweeper saves must
survive BSON and come back as it was (the sweeper finds files again by their name)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import bson
from bson.codec_options import CodecOptions
from callscope_sftp.adapters.mongo_store import (
    batch_from_document,
    batch_to_document,
    file_from_document,
    file_to_document,
)
from callscope_sftp.domain.entries import display_name
from callscope_sftp.domain.model import (
    Batch,
    BatchStatus,
    CsvRow,
    FileCounts,
    FileKind,
    FileStatus,
    Location,
    TrackedFile,
)

AT = dt.datetime(2026, 1, 15, 9, 0, 0, tzinfo=dt.UTC)
# What the service's client asks for (callscope_common.mongo).
READ: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)


def tracked(name: str, **changes: object) -> TrackedFile:
    values: dict[str, object] = {
        "id": "file-1",
        "org_id": "org-1",
        "campaign_id": "campaign-1",
        "name": name,
        "display_name": display_name(name),
        "kind": FileKind.AUDIO,
        "status": FileStatus.MATCHED,
        "detected_at": AT,
        "updated_at": AT,
        "unchanged_since": AT,
        **changes,
    }
    return TrackedFile(**values)  # type: ignore[arg-type]


def stored(file: TrackedFile) -> TrackedFile:
    return file_from_document(bson.decode(bson.encode(file_to_document(file)), READ))


def test_a_file_record_comes_back_as_it_was_saved() -> None:
    file = tracked(
        "call_JS001.wav",
        batch_id="batch-1",
        location=Location.PROCESSING,
        metadata={"agent_code": "JS001"},
        agent_code="JS001",
        agent_source="csv",
        csv_line=2,
        attempts=1,
    )
    assert stored(file) == file


def test_a_skipped_file_without_a_kind_comes_back_as_it_was_saved() -> None:
    file = tracked(".hidden.wav", kind=None, status=FileStatus.SKIPPED, reason="hidden file")
    assert stored(file) == file


def test_a_file_whose_name_is_not_utf8_can_be_stored_and_found_again_by_its_name() -> None:
    # The sweeper records such a file as SKIPPED and matches it to the folder listing by
    # `name` on the next sweep; the name holds surrogates, which BSON strings cannot.
    name = b"bad\xff.wav".decode("utf-8", "surrogateescape")
    file = tracked(name, kind=None, status=FileStatus.SKIPPED, reason="not valid UTF-8")
    assert stored(file).name == name


def test_a_batch_comes_back_as_it_was_saved() -> None:
    batch = Batch(
        id="batch-1",
        org_id="org-1",
        campaign_id="campaign-1",
        status=BatchStatus.INCOMPLETE,
        opened_at=AT,
        window_ends_at=AT + dt.timedelta(seconds=60),
        updated_at=AT,
        csv_file_id="file-9",
        csv_file_name="batch.csv",
        csv_read=True,
        csv_rows=[
            CsvRow(2, "a.wav", {"agent_code": "JS001"}),
            CsvRow(3, "b.wav", {}, errors=("bad date", "too long"), warnings=("formula",)),
        ],
        rejected_rows=["batch.csv: line 4: looks like a path"],
        missing_files=["c.wav"],
        counts=FileCounts(total=2, completed=1, failed=1, missing=1),
        processing_started_at=AT,
        finished_at=AT,
    )
    assert batch_from_document(bson.decode(bson.encode(batch_to_document(batch)), READ)) == batch
