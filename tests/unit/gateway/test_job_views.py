"""The JSON of jobs and items: states, errors, and the upload percent a progress bar shows."""

from __future__ import annotations

import pytest
from callscope.v1 import common_pb2, ingest_pb2
from callscope_gateway.entrypoints.job_views import item_percent, item_view, job_view

State = ingest_pb2.JobItemState


@pytest.mark.parametrize(
    ("state", "size", "received", "percent"),
    [
        (State.JOB_ITEM_STATE_WAITING, 1000, 0, 0.0),
        (State.JOB_ITEM_STATE_UPLOADING, 1000, 333, 33.3),
        (State.JOB_ITEM_STATE_UPLOADING, 0, 333, 0.0),  # size not announced
        (State.JOB_ITEM_STATE_UPLOADING, 1000, 1500, 100.0),  # announced too small
        (State.JOB_ITEM_STATE_UPLOADED, 0, 0, 100.0),
        (State.JOB_ITEM_STATE_REJECTED, 1000, 400, 40.0),
    ],
)
def test_percent(state: int, size: int, received: int, percent: float) -> None:
    item = ingest_pb2.JobItem(state=state, size_bytes=size, bytes_received=received)  # type: ignore[arg-type]
    assert item_percent(item) == percent


def test_an_item_shows_its_call_or_its_error_and_none_for_what_it_lacks() -> None:
    waiting = item_view(
        ingest_pb2.JobItem(id="i1", file_name="a.mp3", state=State.JOB_ITEM_STATE_WAITING)
    )
    assert waiting["call_id"] is None and waiting["call_status"] is None
    assert waiting["error"] is None and waiting["line"] is None
    assert waiting["upload_started_at"] is None
    refused = item_view(
        ingest_pb2.JobItem(
            state=State.JOB_ITEM_STATE_REJECTED,
            error_code="unsupported_format",
            error_message="not audio",
            line=3,
        )
    )
    assert refused["state"] == "REJECTED"
    assert refused["error"] == {"code": "unsupported_format", "message": "not audio"}
    assert refused["line"] == 3
    uploaded = item_view(
        ingest_pb2.JobItem(
            state=State.JOB_ITEM_STATE_UPLOADED,
            call_id="c1",
            call_status=common_pb2.CallStatus.CALL_STATUS_COMPLETED,
            metadata=common_pb2.CallMetadata(agent_name="Ann"),
        )
    )
    assert (uploaded["call_id"], uploaded["call_status"]) == ("c1", "COMPLETED")
    assert uploaded["metadata"] == {"agent_name": "Ann"}


def test_a_listed_job_has_no_items() -> None:
    job = ingest_pb2.Job(
        id="j1",
        source=common_pb2.UploadSource.UPLOAD_SOURCE_BULK,
        status=ingest_pb2.JobStatus.JOB_STATUS_PROCESSING,
        counts=ingest_pb2.JobCounts(total=3, processed=1, failed=1),
        items=[ingest_pb2.JobItem(id="i1")],
    )
    listed = job_view(job, with_items=False)
    assert "items" not in listed
    assert (listed["source"], listed["status"]) == ("BULK", "PROCESSING")
    assert listed["counts"]["failed"] == 1
    assert listed["cancelled_at"] is None
    assert [item["id"] for item in job_view(job)["items"]] == ["i1"]
