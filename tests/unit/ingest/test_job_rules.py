"""Jobs: counts and status derived from items and calls, creation rules, progress, page tokens."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from callscope_ingest.domain.bulk_csv import preview_bulk_upload
from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.jobs import (
    MAX_UI_FILES,
    Job,
    JobCounts,
    JobCursor,
    JobFile,
    JobItem,
    JobItemState,
    JobRejectedError,
    JobRejection,
    JobStatus,
    JobTally,
    check_cancellable,
    decode_job_cursor,
    encode_job_cursor,
    job_counts,
    job_page_size,
    job_report,
    job_status,
    plan_bulk_items,
    plan_ui_items,
    tally_items,
)
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus

S = JobItemState
C = CallStatus
T0 = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


def tally(items: dict[JobItemState, int], calls: dict[CallStatus, int] | None = None) -> JobTally:
    return JobTally(items=items, calls=calls or {})


# -- counts ----------------------------------------------------------------------------------


def test_counts_add_refused_items_and_failed_calls_into_failed() -> None:
    counts = job_counts(
        tally(
            {S.UPLOADED: 5, S.REJECTED: 1, S.WAITING: 1, S.CANCELLED: 2},
            {C.COMPLETED: 2, C.DUPLICATE: 1, C.FAILED: 1, C.ANALYZING: 1},
        )
    )
    assert counts == JobCounts(
        total=9, processed=5, failed=2, completed=2, duplicates=1, cancelled=2
    )


def test_an_empty_tally_counts_nothing() -> None:
    assert job_counts(JobTally()) == JobCounts(0, 0, 0, 0, 0, 0)


# -- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "calls", "status"),
    [
        pytest.param({S.WAITING: 3}, {}, JobStatus.QUEUED, id="nothing-sent-yet"),
        pytest.param({S.WAITING: 2, S.UPLOADING: 1}, {}, JobStatus.PROCESSING, id="one-arriving"),
        pytest.param(
            {S.WAITING: 2, S.REJECTED: 1}, {}, JobStatus.PROCESSING, id="refused-one-rest-waiting"
        ),
        pytest.param(
            {S.UPLOADED: 3},
            {C.COMPLETED: 2, C.TRANSCRIBING: 1},
            JobStatus.PROCESSING,
            id="a-call-busy",
        ),
        pytest.param(
            {S.UPLOADED: 3},
            {C.COMPLETED: 2, C.PENDING: 1},
            JobStatus.PROCESSING,
            id="a-call-pending",
        ),
        pytest.param(
            {S.UPLOADED: 3}, {C.COMPLETED: 2, C.DUPLICATE: 1}, JobStatus.COMPLETED, id="all-done"
        ),
        pytest.param(
            {S.UPLOADED: 3, S.REJECTED: 1}, {C.COMPLETED: 3}, JobStatus.FAILED, id="one-refused"
        ),
        pytest.param(
            {S.UPLOADED: 2}, {C.COMPLETED: 1, C.FAILED: 1}, JobStatus.FAILED, id="call-failed"
        ),
        pytest.param({S.REJECTED: 2}, {}, JobStatus.FAILED, id="all-refused"),
        pytest.param(
            {S.UPLOADED: 2},
            {C.COMPLETED: 1},
            JobStatus.COMPLETED,
            id="call-deleted-counts-finished",
        ),
    ],
)
def test_status_is_derived_from_items_and_calls(
    items: dict[JobItemState, int], calls: dict[CallStatus, int], status: JobStatus
) -> None:
    assert job_status(False, tally(items, calls)) == status


@pytest.mark.parametrize(
    ("items", "calls", "status"),
    [
        pytest.param(
            {S.UPLOADED: 1, S.CANCELLED: 1},
            {C.COMPLETED: 1},
            JobStatus.COMPLETED,
            id="one-completed-one-cancelled",
        ),
        pytest.param(
            {S.UPLOADED: 1, S.CANCELLED: 1},
            {C.TRANSCRIBING: 1},
            JobStatus.PROCESSING,
            id="the-other-call-busy",
        ),
        pytest.param(
            {S.REJECTED: 1, S.CANCELLED: 1}, {}, JobStatus.FAILED, id="one-refused-one-cancelled"
        ),
        pytest.param({S.WAITING: 1, S.CANCELLED: 1}, {}, JobStatus.QUEUED, id="rest-not-sent"),
        pytest.param({S.CANCELLED: 2}, {}, JobStatus.CANCELLED, id="every-file-cancelled"),
    ],
)
def test_an_item_cancelled_on_its_own_is_finished_and_the_job_goes_on(
    items: dict[JobItemState, int], calls: dict[CallStatus, int], status: JobStatus
) -> None:
    assert job_status(False, tally(items, calls)) == status


def test_counts_show_items_cancelled_on_their_own() -> None:
    counts = job_counts(tally({S.UPLOADED: 1, S.CANCELLED: 1}, {C.COMPLETED: 1}))
    assert (counts.total, counts.completed, counts.processed, counts.cancelled) == (2, 1, 1, 1)


def test_a_cancelled_job_is_cancelled_whatever_its_items() -> None:
    for items in ({S.WAITING: 1}, {S.UPLOADED: 1}, {S.CANCELLED: 2, S.UPLOADING: 1}):
        assert job_status(True, tally(items, {C.COMPLETED: 1})) is JobStatus.CANCELLED


def test_an_item_still_uploading_keeps_the_job_processing_even_if_its_call_exists() -> None:
    # The call was stored a moment before the item was marked UPLOADED.
    assert job_status(False, tally({S.UPLOADING: 1}, {C.PENDING: 1})) is JobStatus.PROCESSING


def test_a_report_takes_its_status_from_cancelled_at() -> None:
    job = Job("j", "o", "c", UploadSource.UI, CallMetadata(), T0, cancelled_at=T0)
    assert job_report(job, tally({S.WAITING: 1})).status is JobStatus.CANCELLED


def test_tally_of_items_counts_states_and_the_statuses_of_their_calls() -> None:
    items = [
        JobItem("a", "j", 0, "a.mp3", CallMetadata(), S.UPLOADED, call_status=C.COMPLETED),
        JobItem("b", "j", 1, "b.mp3", CallMetadata(), S.UPLOADED, call_status=C.FAILED),
        JobItem("c", "j", 2, "c.mp3", CallMetadata(), S.REJECTED),
        JobItem("d", "j", 3, "d.mp3", CallMetadata()),
    ]
    result = tally_items(items)
    assert dict(result.items) == {S.UPLOADED: 2, S.REJECTED: 1, S.WAITING: 1}
    assert dict(result.calls) == {C.COMPLETED: 1, C.FAILED: 1}


# -- cancelling ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.PROCESSING])
def test_queued_and_processing_jobs_can_be_cancelled(status: JobStatus) -> None:
    check_cancellable(status)


@pytest.mark.parametrize("status", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_finished_jobs_cannot_be_cancelled(status: JobStatus) -> None:
    with pytest.raises(JobRejectedError) as refused:
        check_cancellable(status)
    assert refused.value.code is JobRejection.JOB_FINISHED
    assert status.value.lower() in refused.value.message


# -- creating --------------------------------------------------------------------------------


def test_a_multi_file_upload_gives_every_file_the_batch_metadata() -> None:
    metadata = CallMetadata(agent_code="JS001", call_type="OUTBOUND")
    planned = plan_ui_items([JobFile("a.mp3", 100), JobFile(" b\x00.wav ", 0)], metadata)
    assert [(p.file_name, p.size_bytes, p.line) for p in planned] == [
        ("a.mp3", 100, 0),
        ("b.wav", 0, 0),
    ]
    assert all(p.metadata == metadata for p in planned)


def test_a_multi_file_upload_takes_at_most_twenty_files() -> None:
    files = [JobFile(f"call{n}.mp3", 10) for n in range(MAX_UI_FILES)]
    assert len(plan_ui_items(files, CallMetadata())) == MAX_UI_FILES
    with pytest.raises(JobRejectedError) as refused:
        plan_ui_items([*files, JobFile("one-more.mp3")], CallMetadata())
    assert refused.value.code is JobRejection.TOO_MANY_FILES
    assert "21 files" in refused.value.message
    assert "bulk upload" in refused.value.message


def test_a_multi_file_upload_needs_a_file_and_sizes_that_are_not_negative() -> None:
    for files in ([], [JobFile("a.mp3", -1)]):
        with pytest.raises(JobRejectedError) as refused:
            plan_ui_items(files, CallMetadata())
        assert refused.value.code is JobRejection.INVALID_REQUEST


def test_a_client_reference_cannot_apply_to_several_files() -> None:
    metadata = CallMetadata(client_reference="CRM-1")
    assert len(plan_ui_items([JobFile("a.mp3")], metadata)) == 1
    with pytest.raises(JobRejectedError) as refused:
        plan_ui_items([JobFile("a.mp3"), JobFile("b.mp3")], metadata)
    assert refused.value.code is JobRejection.INVALID_METADATA
    assert "2 files" in refused.value.message


def test_a_bulk_job_takes_the_ready_rows_with_their_metadata_and_lines() -> None:
    csv = (
        b"file_name,agent_code,call_date\n"
        b"call001.mp3,JS001,2026-01-15\n"
        b"call002.mp3,JD002,15/01/2026\n"  # bad date: not ready
        b"call003.mp3,=HYPERLINK(1),2026-01-16\n"  # neutralised, still ready
        b"missing.mp3,JS001,2026-01-16\n"  # no such file: not ready
    )
    files = [JobFile("call001.mp3", 1000), JobFile("call002.mp3"), JobFile("call003.mp3")]
    preview = preview_bulk_upload(csv, [file.file_name for file in files])
    planned = plan_bulk_items(preview, files)
    assert [(p.file_name, p.line, p.size_bytes) for p in planned] == [
        ("call001.mp3", 2, 1000),
        ("call003.mp3", 4, 0),
    ]
    assert planned[0].metadata == CallMetadata(agent_code="JS001", call_date="2026-01-15")
    assert planned[1].metadata.agent_code == "'=HYPERLINK(1)"


def test_a_bulk_job_without_a_ready_row_is_refused_with_the_problems_in_words() -> None:
    csv = b"file_name,call_date\ncall001.mp3,yesterday\nother.mp3,2026-01-15\n"
    preview = preview_bulk_upload(csv, ["call001.mp3"])
    with pytest.raises(JobRejectedError) as refused:
        plan_bulk_items(preview, [JobFile("call001.mp3")])
    assert refused.value.code is JobRejection.INVALID_CSV
    assert "line 2: call_date must be a date as YYYY-MM-DD" in refused.value.message


def test_a_bulk_job_whose_rows_name_no_selected_file_says_so() -> None:
    preview = preview_bulk_upload(b"file_name\nother.mp3\n", ["call001.mp3"])
    with pytest.raises(JobRejectedError) as refused:
        plan_bulk_items(preview, [JobFile("call001.mp3")])
    assert "no CSV row names one of the selected files" in refused.value.message
    assert "line 2: other.mp3" in refused.value.message


def test_an_unreadable_csv_refuses_the_bulk_job() -> None:
    preview = preview_bulk_upload(b"agent_name\nJohn\n", ["call001.mp3"])
    with pytest.raises(JobRejectedError) as refused:
        plan_bulk_items(preview, [JobFile("call001.mp3")])
    assert refused.value.code is JobRejection.INVALID_CSV
    assert "no file_name column" in refused.value.message


def test_an_invalid_csv_message_lists_a_few_problems_and_counts_the_rest() -> None:
    rows = "".join(f"call{n}.mp3,bad-date\n" for n in range(8))
    preview = preview_bulk_upload(f"file_name,call_date\n{rows}".encode(), ["call0.mp3"])
    with pytest.raises(JobRejectedError) as refused:
        plan_bulk_items(preview, [JobFile("call0.mp3")])
    assert "and 3 more problems" in refused.value.message


# -- progress --------------------------------------------------------------------------------


def item(**changes: object) -> JobItem:
    return dataclasses.replace(JobItem("i", "j", 0, "a.mp3", CallMetadata()), **changes)  # type: ignore[arg-type]


def test_speed_is_bytes_over_seconds_since_the_upload_started() -> None:
    uploading = item(
        state=S.UPLOADING, upload_started_at=T0, bytes_received=4_000_000, size_bytes=8_000_000
    )
    assert uploading.bytes_per_second(T0 + dt.timedelta(seconds=2)) == 2_000_000


def test_a_finished_upload_keeps_its_speed_instead_of_slowing_down_forever() -> None:
    done = item(
        state=S.UPLOADED,
        upload_started_at=T0,
        progress_at=T0 + dt.timedelta(seconds=4),
        bytes_received=8_000_000,
    )
    assert done.bytes_per_second(T0 + dt.timedelta(hours=1)) == 2_000_000


def test_no_speed_before_any_byte() -> None:
    assert item().bytes_per_second(T0) == 0.0
    assert item(state=S.UPLOADING, upload_started_at=T0).bytes_per_second(T0) == 0.0


# -- page tokens -----------------------------------------------------------------------------


def test_a_page_token_round_trips_and_foreign_tokens_are_refused() -> None:
    cursor = JobCursor(T0, "abc")
    assert decode_job_cursor(encode_job_cursor(cursor)) == cursor
    assert decode_job_cursor("") is None
    for token in ("not-base64!!", "WzFd", encode_job_cursor(cursor)[:-3]):
        with pytest.raises(JobRejectedError) as refused:
            decode_job_cursor(token)
        assert refused.value.code is JobRejection.INVALID_REQUEST


def test_page_sizes() -> None:
    assert job_page_size(0) == 20
    assert job_page_size(100) == 100
    for size in (-1, 101):
        with pytest.raises(JobRejectedError):
            job_page_size(size)
