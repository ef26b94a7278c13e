"""The batch rules of domain/batches.py, branch by branch: when a batch waits, fails or is
processed, what happens to each of its files, and how it ends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from callscope_sftp.domain.batches import (
    BatchView,
    Candidate,
    Plan,
    comparable_name,
    final_status,
    plan_batch,
)
from callscope_sftp.domain.model import (
    BatchStatus,
    CsvReading,
    CsvRequirement,
    CsvRow,
    FileCounts,
)

OPENED = dt.datetime(2026, 1, 15, 9, 0, 0, tzinfo=dt.UTC)
WINDOW_S = 300
WINDOW_ENDS = OPENED + dt.timedelta(seconds=WINDOW_S)
BEFORE = OPENED + dt.timedelta(seconds=10)
AFTER = WINDOW_ENDS + dt.timedelta(seconds=1)
REQUIRED = CsvRequirement.REQUIRED
OPTIONAL = CsvRequirement.OPTIONAL


def audio(file_id: str, name: str = "", *, complete: bool = True) -> Candidate:
    return Candidate(file_id, name or f"{file_id}.wav", complete)


def csv_file(*, complete: bool = True) -> Candidate:
    return Candidate("csv", "batch.csv", complete)


def row(line: int, file_name: str, *errors: str, **metadata: str) -> CsvRow:
    return CsvRow(line=line, file_name=file_name, metadata=dict(metadata), errors=errors)


def reading(*rows: CsvRow, errors: Sequence[str] = ()) -> CsvReading:
    return CsvReading(errors=tuple(errors), rows=rows)


def plan(
    *files: Candidate,
    requirement: CsvRequirement = OPTIONAL,
    now: dt.datetime = BEFORE,
    csv: Candidate | None = None,
    read: CsvReading | None = None,
    window_s: int = WINDOW_S,
) -> Plan:
    return plan_batch(
        BatchView(
            requirement=requirement,
            window_s=window_s,
            window_ends_at=OPENED + dt.timedelta(seconds=window_s),
            now=now,
            audio=files,
            csv=csv,
            reading=read,
        )
    )


def processed(result: Plan) -> dict[str, CsvRow | None]:
    return dict(result.process)


# ---- CSV required, none arrived ----------------------------------------------------------


def test_a_required_csv_is_waited_for_until_the_window_ends() -> None:
    result = plan(audio("a"), audio("b", complete=False), requirement=REQUIRED)
    assert result.status is BatchStatus.WAITING_FOR_CSV
    assert result.waiting
    assert "needs a CSV" in result.reason
    assert "09:05:00 UTC" in result.reason
    assert (result.process, result.fail, result.release) == ((), (), ())
    assert not result.batch_failed


def test_a_required_csv_that_never_came_fails_the_batch_and_its_complete_audio() -> None:
    result = plan(audio("a"), audio("b", complete=False), requirement=REQUIRED, now=AFTER)
    assert result.status is BatchStatus.FAILED
    assert not result.waiting
    assert result.batch_failed
    assert f"no CSV arrived within the batch window ({WINDOW_S} s)" in result.reason
    assert "drop the audio files again together with their CSV" in result.reason
    assert result.fail == (("a", result.reason),)
    # Still being written: it is not this batch's to fail; it moves on to the next batch.
    assert result.release == ("b",)
    assert result.process == ()


def test_the_window_ends_exactly_at_its_end() -> None:
    result = plan(audio("a"), requirement=REQUIRED, now=WINDOW_ENDS)
    assert result.status is BatchStatus.FAILED


# ---- CSV optional, none arrived ----------------------------------------------------------


def test_an_optional_csv_is_waited_for_while_the_window_is_open() -> None:
    result = plan(audio("a"), audio("b"))
    assert result.status is BatchStatus.DETECTING
    assert result.waiting
    assert "in case a CSV follows" in result.reason
    assert result.process == ()


def test_without_a_csv_the_audio_is_processed_without_metadata_once_the_window_ends() -> None:
    result = plan(audio("a"), audio("b"), audio("c", complete=False), now=AFTER)
    assert result.status is BatchStatus.PROCESSING
    assert not result.waiting
    assert processed(result) == {"a": None, "b": None}
    assert result.release == ("c",)
    assert (result.fail, result.missing, result.batch_failed) == ((), (), False)


def test_without_a_csv_a_window_of_0_processes_at_once() -> None:
    result = plan(audio("a"), now=OPENED, window_s=0)
    assert result.status is BatchStatus.PROCESSING
    assert processed(result) == {"a": None}


def test_without_a_csv_nothing_complete_keeps_the_batch_detecting_after_the_window() -> None:
    result = plan(audio("a", complete=False), now=AFTER)
    assert result.status is BatchStatus.DETECTING
    assert "finish uploading" in result.reason
    assert (result.process, result.release) == ((), ())


# ---- a CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize("requirement", [REQUIRED, OPTIONAL])
def test_a_csv_still_being_written_keeps_the_batch_detecting(
    requirement: CsvRequirement,
) -> None:
    result = plan(audio("a"), requirement=requirement, csv=csv_file(complete=False), now=AFTER)
    assert result.status is BatchStatus.DETECTING
    assert "batch.csv" in result.reason
    assert result.process == ()


def test_a_complete_csv_not_read_yet_keeps_the_batch_detecting() -> None:
    result = plan(audio("a"), requirement=REQUIRED, csv=csv_file(), read=None)
    assert result.status is BatchStatus.DETECTING
    assert "reading batch.csv" in result.reason


@pytest.mark.parametrize("requirement", [REQUIRED, OPTIONAL])
def test_a_csv_with_every_file_it_names_is_processed_at_once(
    requirement: CsvRequirement,
) -> None:
    first = row(2, "a.wav", agent_code="JS001")
    second = row(3, "b.wav", call_type="sales")
    result = plan(
        audio("a"),
        audio("b"),
        requirement=requirement,
        csv=csv_file(),
        read=reading(first, second),
        now=BEFORE,
    )
    assert result.status is BatchStatus.PROCESSING
    assert processed(result) == {"a": first, "b": second}
    assert (result.fail, result.release, result.missing, result.rejected_rows) == ((), (), (), ())
    assert not result.batch_failed


def test_files_the_csv_names_that_are_not_there_are_waited_for_until_the_window_ends() -> None:
    result = plan(
        audio("a"),
        csv=csv_file(),
        read=reading(row(2, "a.wav"), row(3, "late.wav"), row(4, "later.wav")),
    )
    assert result.status is BatchStatus.WAITING_FOR_FILES
    assert result.waiting
    assert "late.wav" in result.reason and "later.wav" in result.reason
    assert result.missing == ("late.wav", "later.wav")
    assert result.process == ()


def test_after_the_window_what_is_there_is_processed_and_the_rest_is_missing() -> None:
    present = row(2, "a.wav", agent_code="JS001")
    result = plan(
        audio("a"),
        requirement=REQUIRED,
        csv=csv_file(),
        read=reading(present, row(3, "late.wav")),
        now=AFTER,
    )
    assert result.status is BatchStatus.PROCESSING
    assert processed(result) == {"a": present}
    assert result.missing == ("late.wav",)


def test_a_listed_file_still_being_written_is_waited_for_even_after_the_window() -> None:
    result = plan(
        audio("a"),
        audio("b", complete=False),
        csv=csv_file(),
        read=reading(row(2, "a.wav"), row(3, "b.wav"), row(4, "gone.wav")),
        now=AFTER,
    )
    assert result.status is BatchStatus.WAITING_FOR_FILES
    assert result.waiting
    assert "b.wav" in result.reason
    assert result.missing == ("gone.wav",)
    assert result.process == ()


def test_a_listed_file_still_being_written_is_waited_for_before_the_window_too() -> None:
    result = plan(
        audio("a", complete=False), csv=csv_file(), read=reading(row(2, "a.wav")), now=BEFORE
    )
    assert result.status is BatchStatus.WAITING_FOR_FILES
    # Being written is not missing: the file is there.
    assert result.missing == ()


@pytest.mark.parametrize("requirement", [REQUIRED, OPTIONAL])
def test_an_unreadable_csv_fails_the_batch(requirement: CsvRequirement) -> None:
    problem = "the CSV has no file_name column (header on line 1)"
    result = plan(
        audio("a"),
        audio("b", complete=False),
        requirement=requirement,
        csv=csv_file(),
        read=reading(errors=[problem]),
        now=BEFORE,
    )
    assert result.status is BatchStatus.FAILED
    assert result.batch_failed
    assert result.reason == f"the CSV batch.csv cannot be used: {problem}"
    assert result.fail == (("a", result.reason),)
    assert result.release == ("b",)
    assert result.process == ()


def test_rows_with_errors_fail_their_files_with_the_rows_words() -> None:
    good = row(2, "a.wav")
    bad = row(3, "b.wav", "line 3: call_date '31/31/2026' is not a date", "line 3: too long")
    result = plan(audio("a"), audio("b"), csv=csv_file(), read=reading(good, bad))
    assert result.status is BatchStatus.PROCESSING
    assert processed(result) == {"a": good}
    assert result.fail == (
        ("b", "batch.csv: line 3: call_date '31/31/2026' is not a date; line 3: too long"),
    )


@pytest.mark.parametrize(
    "hostile",
    ["../../other-campaign/x.mp3", "sub/a.wav", "..\\..\\x.mp3", "", "   "],
)
def test_rows_naming_a_path_or_nothing_are_rejected_never_missing(hostile: str) -> None:
    words = (f"line 3: file_name '{hostile}' looks like a path",) if hostile.strip() else ()
    result = plan(
        audio("a"),
        csv=csv_file(),
        read=reading(row(2, "a.wav"), row(3, hostile, *words)),
        now=BEFORE,
    )
    # Nothing to wait for: the batch is processed at once, the row counted as rejected.
    assert result.status is BatchStatus.PROCESSING
    assert result.missing == ()
    assert set(processed(result)) == {"a"}
    expected = words[0] if words else "line 3: no usable file_name"
    assert result.rejected_rows == (f"batch.csv: {expected}",)


def test_a_path_row_never_reaches_a_file_of_the_same_base_name() -> None:
    result = plan(
        audio("x", "x.mp3"),
        requirement=REQUIRED,
        csv=csv_file(),
        read=reading(row(2, "../../other-campaign/x.mp3", "line 2: looks like a path")),
        now=AFTER,
    )
    assert processed(result) == {}
    assert result.release == ("x",)
    assert result.rejected_rows == ("batch.csv: line 2: looks like a path",)


@pytest.mark.parametrize("dots", ["..", "."])
def test_a_row_naming_dot_or_dot_dot_is_rejected_not_waited_for(dots: str) -> None:
    # Ingest's words for it; entries.judge calls "." and ".." paths too: no file has them.
    words = f"line 3: file_name '{dots}' is not a file name; give the audio file's exact name"
    result = plan(
        audio("a"),
        csv=csv_file(),
        read=reading(row(2, "a.wav"), row(3, dots, words)),
        now=BEFORE,
    )
    assert result.missing == ()
    assert result.status is BatchStatus.PROCESSING
    assert result.rejected_rows == (f"batch.csv: {words}",)


def test_unlisted_audio_is_processed_without_a_row_when_the_csv_is_optional() -> None:
    listed = row(2, "a.wav")
    result = plan(
        audio("a"),
        audio("extra"),
        audio("writing", complete=False),
        csv=csv_file(),
        read=reading(listed),
    )
    assert result.status is BatchStatus.PROCESSING
    assert processed(result) == {"a": listed, "extra": None}
    assert result.release == ("writing",)


def test_unlisted_audio_is_released_for_a_batch_of_its_own_when_the_csv_is_required() -> None:
    listed = row(2, "a.wav")
    result = plan(
        audio("a"),
        audio("extra"),
        audio("writing", complete=False),
        requirement=REQUIRED,
        csv=csv_file(),
        read=reading(listed),
    )
    assert processed(result) == {"a": listed}
    assert set(result.release) == {"extra", "writing"}
    assert result.fail == ()


def test_names_are_compared_after_nfc_and_stripping() -> None:
    decomposed = "Cafe\u0301.wav"  # NFD: e + combining acute
    composed = "Caf\u00e9.wav"
    assert comparable_name(decomposed) == comparable_name(f"  {composed} ")
    listed = row(2, f" {composed}  ")
    result = plan(
        audio("a", decomposed), requirement=REQUIRED, csv=csv_file(), read=reading(listed)
    )
    assert result.status is BatchStatus.PROCESSING
    assert processed(result) == {"a": listed}
    assert result.missing == ()


def test_names_are_compared_with_case() -> None:
    result = plan(
        audio("a", "A.wav"),
        requirement=REQUIRED,
        csv=csv_file(),
        read=reading(row(2, "a.wav")),
        now=AFTER,
    )
    assert processed(result) == {}
    assert result.missing == ("a.wav",)


def test_a_file_listed_twice_is_imported_once_and_the_second_row_is_a_problem() -> None:
    # Ingest's reading of such a CSV: the first row is fine, the repeat carries an error.
    first = row(2, "a.wav", call_type="sales")
    again = row(3, "a.wav", "line 3: a.wav is already on line 2; list each file once")
    result = plan(audio("a"), csv=csv_file(), read=reading(first, again))
    instructions = [file_id for file_id, _ in result.process] + [
        file_id for file_id, _ in result.fail
    ]
    # One instruction per file: not both processed and failed.
    assert instructions == ["a"]
    assert processed(result) == {"a": first}
    assert result.rejected_rows == (
        "batch.csv: line 3: a.wav is already on line 2; list each file once",
    )


def test_the_wait_reason_names_at_most_five_files() -> None:
    rows = [row(n, f"f{n}.wav") for n in range(2, 10)]
    result = plan(audio("a"), csv=csv_file(), read=reading(*rows))
    assert result.status is BatchStatus.WAITING_FOR_FILES
    assert "f2.wav, f3.wav, f4.wav, f5.wav, f6.wav and 3 more" in result.reason


# ---- how a batch ends ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "rejected_rows", "batch_failed", "status"),
    [
        (FileCounts(total=2, completed=2), 0, False, BatchStatus.COMPLETED),
        (FileCounts(total=2, completed=1, duplicates=1), 0, False, BatchStatus.COMPLETED),
        (FileCounts(total=1, duplicates=1), 0, False, BatchStatus.COMPLETED),
        (FileCounts(total=2, completed=1, failed=1), 0, False, BatchStatus.INCOMPLETE),
        (FileCounts(total=1, completed=1, missing=1), 0, False, BatchStatus.INCOMPLETE),
        (FileCounts(total=1, completed=1), 1, False, BatchStatus.INCOMPLETE),
        (FileCounts(total=1, duplicates=1, failed=1), 0, False, BatchStatus.INCOMPLETE),
        (FileCounts(total=2, failed=2), 0, False, BatchStatus.FAILED),
        (FileCounts(total=0, missing=3), 0, False, BatchStatus.FAILED),
        (FileCounts(total=0), 2, False, BatchStatus.FAILED),
        (FileCounts(total=1, skipped=1, failed=1), 0, False, BatchStatus.FAILED),
        (FileCounts(total=2, failed=2), 0, True, BatchStatus.FAILED),
        (FileCounts(total=2, completed=2), 0, True, BatchStatus.FAILED),
    ],
)
def test_final_status(
    counts: FileCounts, rejected_rows: int, batch_failed: bool, status: BatchStatus
) -> None:
    assert final_status(counts, rejected_rows=rejected_rows, batch_failed=batch_failed) is status
