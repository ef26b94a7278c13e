"""The bulk-upload CSV: reading, row checks, formula neutralisation and matching to files."""

from __future__ import annotations

import pytest
from callscope_ingest.domain.bulk_csv import (
    DEFAULT_BULK_CSV_LIMITS,
    BulkCsvLimits,
    BulkPreview,
    PreviewRow,
    check_csv_size,
    neutralise_formula,
    preview_bulk_upload,
)
from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError
from callscope_ingest.domain.metadata import CallMetadata

pytestmark = pytest.mark.unit

GUIDE_CSV = (
    "file_name,agent_name,agent_code,call_type,call_date,disposition\n"
    "call001.mp3,John Smith,JS001,OUTBOUND,2026-01-15,Sale Completed\n"
    "call002.mp3,Jane Doe,JD002,INBOUND,2026-01-15,Issue Resolved\n"
    "call003.mp3,John Smith,JS001,OUTBOUND,2026-01-16,No Answer\n"
)
GUIDE_FILES = ("call001.mp3", "call002.mp3", "call003.mp3")


def preview(text: str, files: tuple[str, ...] = GUIDE_FILES) -> BulkPreview:
    return preview_bulk_upload(text.encode(), files)


def only_row(result: BulkPreview) -> PreviewRow:
    assert not result.errors, result.errors
    assert len(result.rows) == 1
    return result.rows[0]


def the_error(result: BulkPreview) -> str:
    assert result.rows == ()
    assert len(result.errors) == 1
    assert not result.can_start
    return result.errors[0]


# -- the guide's example and encodings ------------------------------------------------------


def test_the_guides_example_matches_every_file() -> None:
    result = preview(GUIDE_CSV)
    assert result.errors == ()
    assert result.warnings == ()
    assert result.files_without_row == ()
    assert result.can_start
    assert [row.line for row in result.rows] == [2, 3, 4]
    assert all(row.is_ready for row in result.rows)
    assert result.ready_rows == result.rows
    assert result.rows[0] == PreviewRow(
        line=2,
        file_name="call001.mp3",
        metadata=CallMetadata(
            agent_name="John Smith",
            agent_code="JS001",
            call_type="OUTBOUND",
            call_date="2026-01-15",
            disposition="Sale Completed",
        ),
        matched=True,
    )


def test_a_byte_order_mark_is_ignored() -> None:
    result = preview_bulk_upload(b"\xef\xbb\xbf" + GUIDE_CSV.encode(), GUIDE_FILES)
    assert result.errors == ()
    assert result.warnings == ()
    assert [row.file_name for row in result.rows] == list(GUIDE_FILES)


def test_crlf_line_endings_are_read() -> None:
    result = preview(GUIDE_CSV.replace("\n", "\r\n"))
    assert result.errors == ()
    assert [row.line for row in result.rows] == [2, 3, 4]
    assert result.rows[2].metadata.disposition == "No Answer"


def test_non_ascii_utf8_is_kept() -> None:
    row = only_row(preview("file_name,agent_name\nappel_été.mp3,Zoë Ñúñez\n", ("appel_été.mp3",)))
    assert row.metadata.agent_name == "Zoë Ñúñez"
    assert row.is_ready


def test_a_non_utf8_csv_is_refused_naming_the_encoding_problem() -> None:
    text = "file_name,agent_name\ncall001.mp3,Zoë\n".encode("latin-1")
    error = the_error(preview_bulk_upload(text, GUIDE_FILES))
    assert "not UTF-8" in error
    assert "line 2" in error
    assert "CSV UTF-8" in error


def test_a_utf16_csv_is_refused_with_a_hint() -> None:
    error = the_error(preview_bulk_upload(GUIDE_CSV.encode("utf-16"), GUIDE_FILES))
    assert "UTF-16" in error


# -- quoting and headers ----------------------------------------------------------------------


def test_quoted_commas_and_doubled_quotes_stay_in_their_value() -> None:
    text = (
        "file_name,agent_name,disposition\n"
        '"call001.mp3","Smith, John","Said ""call back"", then hung up"\n'
    )
    row = only_row(preview(text))
    assert row.errors == ()
    assert row.metadata.agent_name == "Smith, John"
    assert row.metadata.disposition == 'Said "call back", then hung up'


def test_a_quoted_line_break_keeps_the_next_rows_line_number_physical() -> None:
    text = 'file_name,notes\ncall001.mp3,"first\nsecond"\ncall002.mp3,x\n'
    result = preview(text)
    first, second = result.rows
    # A person sees the second row on line 4: the first row spans lines 2 and 3.
    assert (first.line, second.line) == (2, 4)
    assert first.is_ready
    assert second.is_ready


def test_a_line_break_inside_a_metadata_value_is_a_row_error() -> None:
    # Metadata refuses control characters everywhere; the CSV follows the same rule.
    row = only_row(preview('file_name,disposition\ncall001.mp3,"Sale\nCompleted"\n'))
    assert row.errors == ("line 2: disposition contains control characters",)


def test_headers_match_without_case_or_surrounding_spaces() -> None:
    row = only_row(preview(" File_Name , AGENT_CODE ,Call_Type\ncall001.mp3,JS001,outbound\n"))
    assert row.file_name == "call001.mp3"
    assert row.metadata.agent_code == "JS001"
    assert row.metadata.call_type == "OUTBOUND"


def test_columns_may_come_in_any_order_and_cells_are_trimmed() -> None:
    text = "client_reference,customer_id,file_name\n CRM-98765 , CUST-12345 , call001.mp3 \n"
    row = only_row(preview(text))
    assert row.file_name == "call001.mp3"
    assert row.metadata == CallMetadata(customer_id="CUST-12345", client_reference="CRM-98765")
    assert row.matched


def test_unknown_columns_are_ignored_with_a_warning() -> None:
    result = preview("file_name,notes,agent_name\ncall001.mp3,call him back,John\n")
    assert result.errors == ()
    assert len(result.warnings) == 1
    assert "'notes'" in result.warnings[0]
    assert result.rows[0].metadata == CallMetadata(agent_name="John")
    assert result.can_start


def test_an_unnamed_column_with_values_is_warned_about_and_an_empty_one_is_not() -> None:
    assert preview("file_name,agent_name,\ncall001.mp3,John,\n").warnings == ()
    warnings = preview("file_name,,agent_name\ncall001.mp3,x,John\n").warnings
    assert len(warnings) == 1
    assert "column 2" in warnings[0]


def test_a_row_with_more_values_than_the_header_is_warned_about() -> None:
    row = only_row(preview("file_name,agent_name\ncall001.mp3,John,surplus\n"))
    assert row.metadata.agent_name == "John"
    assert len(row.warnings) == 1
    assert "extra values" in row.warnings[0]
    assert row.is_ready


def test_a_row_with_fewer_values_than_the_header_has_empty_fields() -> None:
    row = only_row(preview("file_name,agent_name,call_type\ncall001.mp3\n"))
    assert row.metadata == CallMetadata()
    assert row.is_ready


def test_blank_lines_are_skipped_and_line_numbers_stay_physical() -> None:
    result = preview("\nfile_name\n\ncall001.mp3\n,\n  \ncall002.mp3\n\n")
    assert result.errors == ()
    assert [(row.line, row.file_name) for row in result.rows] == [
        (4, "call001.mp3"),
        (7, "call002.mp3"),
    ]


# -- errors for the whole CSV -----------------------------------------------------------------


def test_a_csv_without_a_file_name_column_is_refused() -> None:
    error = the_error(preview("agent_name,call_type\nJohn,INBOUND\n"))
    assert "no file_name column" in error


def test_a_semicolon_csv_gets_a_hint() -> None:
    error = the_error(preview("file_name;agent_name\ncall001.mp3;John\n"))
    assert "no file_name column" in error
    assert "semicolons" in error


def test_a_column_named_twice_is_refused() -> None:
    error = the_error(preview("file_name,agent_name,Agent_Name\ncall001.mp3,a,b\n"))
    assert "'agent_name' twice" in error


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n", b"  \r\n", b",,,\n"])
def test_an_empty_csv_is_refused(content: bytes) -> None:
    error = the_error(preview_bulk_upload(content, GUIDE_FILES))
    assert "empty" in error


def test_a_header_only_csv_is_refused() -> None:
    error = the_error(preview("file_name,agent_name\n\n"))
    assert "no rows" in error


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('file_name,agent_name\ncall001.mp3,"John\ncall002.mp3,Jane\n', 2),  # never closed
        ('file_name,agent_name\ncall001.mp3,"John" Smith\n', 2),  # text after the closing quote
    ],
)
def test_a_malformed_csv_is_refused_naming_the_line(text: str, line: int) -> None:
    error = the_error(preview(text))
    assert "cannot be read" in error
    assert f"line {line}" in error


def test_a_failed_csv_leaves_every_file_without_a_row() -> None:
    result = preview("agent_name\nJohn\n")
    assert result.files_without_row == GUIDE_FILES


# -- the caps -----------------------------------------------------------------------------------


def test_a_csv_over_5_mb_is_refused() -> None:
    header = b"file_name\n"
    too_big = header + b"x" * (DEFAULT_BULK_CSV_LIMITS.max_bytes - len(header) + 1)
    error = the_error(preview_bulk_upload(too_big, GUIDE_FILES))
    assert "5 MB" in error


def test_a_csv_of_exactly_5_mb_is_read() -> None:
    header = b"file_name\ncall001.mp3\n"
    exactly = header + b"\n" * (DEFAULT_BULK_CSV_LIMITS.max_bytes - len(header))
    assert preview_bulk_upload(exactly, GUIDE_FILES).can_start


def test_a_csv_over_10000_rows_is_refused() -> None:
    rows = "".join(f"call{n}.mp3\n" for n in range(10_001))
    error = the_error(preview("file_name\n" + rows))
    assert "more than 10000 rows" in error


def test_a_csv_of_exactly_10000_rows_is_read() -> None:
    rows = "".join(f"call{n}.mp3\n" for n in range(10_000))
    result = preview("file_name\n" + rows, ("call0.mp3",))
    assert result.errors == ()
    assert len(result.rows) == 10_000
    assert result.can_start


def test_limits_can_be_configured() -> None:
    limits = BulkCsvLimits(max_bytes=1024, max_rows=2)
    text = b"file_name\na.mp3\nb.mp3\nc.mp3\n"
    assert "more than 2 rows" in the_error(preview_bulk_upload(text, (), limits=limits))
    assert "1 MB" not in the_error(preview_bulk_upload(b"x" * 1025, (), limits=limits))


def test_size_check_for_an_early_cut_off() -> None:
    check_csv_size(DEFAULT_BULK_CSV_LIMITS.max_bytes)
    with pytest.raises(UploadRejectedError) as raised:
        check_csv_size(DEFAULT_BULK_CSV_LIMITS.max_bytes + 1)
    assert raised.value.code is RejectionCode.FILE_TOO_LARGE
    assert "5 MB" in raised.value.message


# -- errors for one row -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        ("call001.mp3,SIDEWAYS,", "call_type must be INBOUND or OUTBOUND"),
        ("call001.mp3,,15/01/2026", "call_date must be a date as YYYY-MM-DD"),
        ("call001.mp3,,2026-02-30", "call_date must be a date as YYYY-MM-DD"),
    ],
)
def test_metadata_rules_become_row_errors_with_the_line(cells: str, words: str) -> None:
    result = preview(f"file_name,call_type,call_date\ncall002.mp3,INBOUND,2026-01-15\n{cells}\n")
    assert result.errors == ()
    good, bad = result.rows
    assert good.is_ready
    assert bad.line == 3
    assert bad.matched
    assert not bad.is_ready
    assert len(bad.errors) == 1
    assert bad.errors[0].startswith("line 3: ")
    assert words in bad.errors[0]
    # One good row is enough for the job to start; the bad row's file is not uploaded.
    assert result.can_start
    assert result.ready_rows == (good,)


def test_an_over_long_value_becomes_a_row_error() -> None:
    row = only_row(preview(f"file_name,customer_id\ncall001.mp3,{'x' * 300}\n"))
    assert "customer_id is longer than" in row.errors[0]


def test_an_empty_file_name_is_a_row_error() -> None:
    result = preview("file_name,agent_name\n  ,John\ncall001.mp3,Jane\n")
    empty, good = result.rows
    assert empty.file_name == ""
    assert not empty.matched
    assert empty.errors == (
        "line 2: file_name is empty; give the audio file's exact name, e.g. call001.mp3",
    )
    assert good.is_ready
    assert result.rows_without_file == ()


@pytest.mark.parametrize(
    "name",
    [
        "../call001.mp3",
        "../../etc/passwd",
        "recordings/call001.mp3",
        "/call001.mp3",
        "recordings\\call001.mp3",
        "C:\\calls\\call001.mp3",
        "..",
        ".",
    ],
)
def test_a_path_is_a_row_error_not_a_match(name: str) -> None:
    result = preview(f'file_name\n"{name}"\n', (*GUIDE_FILES, name))
    row = only_row(result)
    assert not row.matched
    assert row.errors[0].startswith("line 2: file_name ")
    assert name in row.errors[0]
    assert not result.can_start


def test_a_path_error_suggests_the_name() -> None:
    row = only_row(preview("file_name\nrecordings/call001.mp3\n"))
    assert "e.g. call001.mp3" in row.errors[0]


def test_dots_inside_a_name_are_fine() -> None:
    row = only_row(preview("file_name\ncall..001.mp3\n", ("call..001.mp3",)))
    assert row.is_ready


def test_a_repeated_file_name_is_an_error_on_the_later_rows() -> None:
    text = (
        "file_name,agent_code\n"
        "call001.mp3,AA01\ncall002.mp3,BB02\ncall001.mp3,CC03\n call001.mp3 ,DD04\n"
    )
    result = preview(text)
    first, other, second, third = result.rows
    assert first.is_ready
    assert other.is_ready
    assert second.errors == ("line 4: call001.mp3 is already on line 2; list each file once",)
    assert third.errors == ("line 5: call001.mp3 is already on line 2; list each file once",)
    assert result.ready_rows == (first, other)


def test_file_names_are_case_sensitive() -> None:
    text = "file_name\ncall001.mp3\nCALL001.MP3\n"
    result = preview(text, ("call001.mp3",))
    lower, upper = result.rows
    assert lower.is_ready
    assert upper.errors == ()
    assert not upper.matched


def test_a_name_uploaded_twice_cannot_be_told_apart() -> None:
    result = preview("file_name\ncall001.mp3\n", ("call001.mp3", "call001.mp3"))
    row = only_row(result)
    assert row.matched
    assert "2 uploaded files are named call001.mp3" in row.errors[0]
    assert not result.can_start


# -- formula neutralisation ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=cmd|' /C calc'!A0", "+1", "@SUM(1)", "-2", "=1+1"])
def test_formula_cells_are_stored_as_text_with_a_warning(value: str) -> None:
    text = f'file_name,agent_name,disposition\ncall001.mp3,John,"{value}"\n'
    row = only_row(preview(text))
    assert row.metadata.disposition == "'" + value
    assert row.metadata.agent_name == "John"
    assert len(row.warnings) == 1
    assert row.warnings[0].startswith(f"line 2: disposition starts with '{value[0]}'")
    assert row.is_ready


def test_formula_cells_are_neutralised_in_every_free_text_column() -> None:
    text = (
        "file_name,agent_name,agent_code,customer_id,disposition,client_reference\n"
        "call001.mp3,=A1,+A2,-A3,@A4,=A5\n"
    )
    row = only_row(preview(text))
    assert row.metadata == CallMetadata(
        agent_name="'=A1",
        agent_code="'+A2",
        customer_id="'-A3",
        disposition="'@A4",
        client_reference="'=A5",
    )
    assert len(row.warnings) == 5


def test_a_formula_after_leading_whitespace_is_still_neutralised() -> None:
    row = only_row(preview('file_name,agent_name\ncall001.mp3,"\t =HYPERLINK(1)"\n'))
    assert row.metadata.agent_name == "'=HYPERLINK(1)"


def test_a_formula_in_a_checked_column_is_an_error_and_still_neutralised() -> None:
    row = only_row(preview("file_name,call_date\ncall001.mp3,-2\n"))
    assert "call_date must be a date" in row.errors[0]
    assert row.metadata.call_date == "'-2"
    assert not row.is_ready


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1", "'=1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("John", "John"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_formula(value: str, safe: str) -> None:
    assert neutralise_formula(value) == safe


# -- matching both ways -------------------------------------------------------------------------


def test_rows_and_files_are_matched_both_ways() -> None:
    text = "file_name\ncall001.mp3\ncall009.mp3\ncall002.mp3\n"
    result = preview(text, ("call002.mp3", "extra.wav", "call001.mp3", "other.mp3"))
    assert result.errors == ()
    assert [(row.file_name, row.matched) for row in result.rows] == [
        ("call001.mp3", True),
        ("call009.mp3", False),
        ("call002.mp3", True),
    ]
    assert [row.file_name for row in result.rows_without_file] == ["call009.mp3"]
    assert result.files_without_row == ("extra.wav", "other.mp3")
    assert [row.file_name for row in result.ready_rows] == ["call001.mp3", "call002.mp3"]
    assert result.can_start


def test_a_row_with_an_error_still_claims_its_file() -> None:
    result = preview("file_name,call_type\ncall001.mp3,SIDEWAYS\n", ("call001.mp3",))
    assert result.files_without_row == ()
    assert not result.can_start


def test_names_match_across_unicode_normal_forms() -> None:
    # macOS hands over decomposed names (e + combining accent); spreadsheets type composed ones.
    decomposed = "appel_e\u0301te\u0301.mp3"
    row = only_row(preview("file_name\nappel_été.mp3\n", (decomposed,)))
    assert row.matched


def test_no_uploaded_files_means_nothing_can_start() -> None:
    result = preview(GUIDE_CSV, ())
    assert result.errors == ()
    assert len(result.rows_without_file) == 3
    assert not result.can_start


def test_no_matching_file_means_nothing_can_start() -> None:
    result = preview(GUIDE_CSV, ("unrelated.mp3",))
    assert result.files_without_row == ("unrelated.mp3",)
    assert not result.can_start
