"""Bulk upload's CSV: read, checked row by row and matched to the uploaded files as a preview.

Nothing here raises for a bad CSV: every problem becomes words in the preview, for the
whole CSV (`BulkPreview.errors`) or for one row (`PreviewRow.errors`), so the user sees
them all at once and fixes the CSV before the job starts.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError
from callscope_ingest.domain.file_names import clean_file_name
from callscope_ingest.domain.metadata import CallMetadata, normalise_metadata

FILE_NAME_COLUMN = "file_name"
# The optional columns are exactly the metadata fields, so a new field becomes a column.
METADATA_COLUMNS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(CallMetadata))
KNOWN_COLUMNS: tuple[str, ...] = (FILE_NAME_COLUMN, *METADATA_COLUMNS)

# A spreadsheet (Excel, LibreOffice, Google Sheets) runs a cell starting with one of these
# as a formula when a CSV is opened. A value typed into one customer's CSV would come back
# in the CSV exports of calls that someone else opens later, where `=cmd|' /C calc'!A0`
# or `=HYPERLINK(...)` runs on their machine ("CSV injection"). A leading apostrophe makes
# the spreadsheet show the value as text; the value stays readable.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class BulkCsvLimits:
    """How large a bulk-upload CSV may be; defaults are the product's."""

    max_bytes: int = 5 * 1024 * 1024
    max_rows: int = 10_000


DEFAULT_BULK_CSV_LIMITS = BulkCsvLimits()


@dataclass(frozen=True)
class PreviewRow:
    """One CSV row: its metadata, whether an uploaded file has its name, and its problems.

    `line` is the line a person sees in the CSV (the header is line 1, so the first row
    is usually line 2). `matched` is False for a row whose file was not uploaded.
    """

    line: int
    file_name: str
    metadata: CallMetadata
    matched: bool
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def is_ready(self) -> bool:
        """Whether this row's file can be uploaded: it was uploaded and the row has no errors."""
        return self.matched and not self.errors


@dataclass(frozen=True)
class BulkPreview:
    """What a bulk job would do: rows, files without a row, and problems with the whole CSV."""

    rows: tuple[PreviewRow, ...]
    files_without_row: tuple[str, ...]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ready_rows(self) -> tuple[PreviewRow, ...]:
        """The rows whose files would be uploaded."""
        return tuple(row for row in self.rows if row.is_ready)

    @property
    def rows_without_file(self) -> tuple[PreviewRow, ...]:
        """The rows naming a file that was not uploaded ("missing file")."""
        return tuple(row for row in self.rows if row.file_name and not row.matched)

    @property
    def can_start(self) -> bool:
        """Whether the job can start: the CSV is readable and at least one row is ready."""
        return not self.errors and any(row.is_ready for row in self.rows)


def neutralise_formula(value: str) -> str:
    """The value as a spreadsheet will show it as text: a leading `'` before a formula start."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def csv_too_large_message(limits: BulkCsvLimits = DEFAULT_BULK_CSV_LIMITS) -> str:
    """Why a CSV above the size limit is refused (for an early cut-off while bytes arrive)."""
    return (
        f"the CSV is larger than the {limits.max_bytes / (1024 * 1024):g} MB limit; "
        "split it into smaller CSV files and upload each as its own bulk upload"
    )


def check_csv_size(size_bytes: int, limits: BulkCsvLimits = DEFAULT_BULK_CSV_LIMITS) -> None:
    """Refuses a CSV above the size limit, so a caller can stop reading it early."""
    if size_bytes > limits.max_bytes:
        raise UploadRejectedError(RejectionCode.FILE_TOO_LARGE, csv_too_large_message(limits))


def preview_bulk_upload(
    csv_bytes: bytes,
    uploaded_file_names: Sequence[str],
    *,
    limits: BulkCsvLimits = DEFAULT_BULK_CSV_LIMITS,
) -> BulkPreview:
    """Reads a bulk-upload CSV, checks every row and matches rows to uploaded files by name."""
    try:
        table = _read_table(csv_bytes, limits)
        columns, header_warnings = _known_column_positions(table)
    except _UnreadableCsvError as unreadable:
        return BulkPreview(
            rows=(), files_without_row=tuple(uploaded_file_names), errors=(unreadable.message,)
        )

    uploads_per_name = Counter(clean_file_name(name) for name in uploaded_file_names)
    first_line_of_name: dict[str, int] = {}
    rows = tuple(
        _preview_row(
            line,
            cells,
            columns=columns,
            header_width=len(table.header),
            uploads_per_name=uploads_per_name,
            first_line_of_name=first_line_of_name,
        )
        for line, cells in table.records
    )
    files_without_row = tuple(
        name for name in uploaded_file_names if clean_file_name(name) not in first_line_of_name
    )
    return BulkPreview(rows, files_without_row, warnings=header_warnings)


class _UnreadableCsvError(Exception):
    """A problem with the whole CSV: no row of it can be trusted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Table:
    """The CSV's non-blank records, each with the line it starts on."""

    header_line: int
    header: list[str]
    records: list[tuple[int, list[str]]]


def _read_table(csv_bytes: bytes, limits: BulkCsvLimits) -> _Table:
    if len(csv_bytes) > limits.max_bytes:
        raise _UnreadableCsvError(csv_too_large_message(limits))
    text = _decoded(csv_bytes)
    # newline="" leaves line endings (LF, CRLF, CR) to the csv module, which also keeps
    # line breaks inside quoted values; strict refuses a stray quote instead of guessing.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: tuple[int, list[str]] | None = None
    records: list[tuple[int, list[str]]] = []
    start_line = 1
    try:
        for cells in reader:
            line, start_line = start_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = (line, cells)
                continue
            if len(records) == limits.max_rows:
                raise _UnreadableCsvError(
                    f"the CSV has more than {limits.max_rows} rows; split it into CSV files "
                    f"of at most {limits.max_rows} rows and upload each as its own bulk upload"
                )
            records.append((line, cells))
    except csv.Error as problem:
        raise _UnreadableCsvError(
            f"the CSV cannot be read from line {start_line} ({problem}); check that every "
            'value that opens with a quote (") closes with one, and that quotes inside a '
            'quoted value are doubled ("")'
        ) from None
    if header is None:
        raise _UnreadableCsvError(
            "the CSV is empty; its first line must be a header such as "
            "'file_name,agent_name,call_type', then one line per audio file"
        )
    if not records:
        raise _UnreadableCsvError(
            "the CSV has a header but no rows; add one line per audio file under the header"
        )
    return _Table(header_line=header[0], header=header[1], records=records)


def _decoded(csv_bytes: bytes) -> str:
    # Excel's "Unicode text" export is UTF-16 with a BOM; it deserves its own hint.
    if csv_bytes.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _UnreadableCsvError(
            "the CSV is saved as UTF-16, not UTF-8; save it again as 'CSV UTF-8' and upload it"
        )
    try:
        # utf-8-sig drops the byte-order mark Excel puts before "CSV UTF-8" files.
        return csv_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = csv_bytes[: problem.start].count(b"\n") + 1
        bad_byte = csv_bytes[problem.start]
        raise _UnreadableCsvError(
            f"the CSV is not UTF-8 text (byte 0x{bad_byte:02x} on line {line} is not valid "
            "UTF-8); save it again as 'CSV UTF-8' and upload it"
        ) from None


def _known_column_positions(table: _Table) -> tuple[dict[str, int], tuple[str, ...]]:
    """Where each known column is (matched without case or surrounding spaces) + warnings."""
    positions: dict[str, int] = {}
    warnings: list[str] = []
    for index, cell in enumerate(table.header):
        name = cell.replace("\ufeff", "").strip().lower()
        if not name:
            if any(index < len(cells) and cells[index].strip() for _, cells in table.records):
                warnings.append(
                    f"column {index + 1} has values but no name in the header; it is ignored"
                )
        elif name in positions:
            raise _UnreadableCsvError(
                f"the header names the column '{name}' twice (columns {positions[name] + 1} "
                f"and {index + 1}); keep only one of them"
            )
        elif name in KNOWN_COLUMNS:
            positions[name] = index
        else:
            warnings.append(
                f"the column '{cell.strip()}' is not one we know and is ignored; "
                f"known columns are {', '.join(KNOWN_COLUMNS)}"
            )
    if FILE_NAME_COLUMN not in positions:
        raise _UnreadableCsvError(_missing_file_name_column_message(table))
    return positions, tuple(warnings)


def _missing_file_name_column_message(table: _Table) -> str:
    message = (
        f"the CSV has no file_name column (header on line {table.header_line}); its first "
        "line must name the columns, e.g. 'file_name,agent_name,call_type'"
    )
    if len(table.header) == 1 and any(sep in table.header[0] for sep in (";", "\t")):
        message += (
            "; its columns seem to be separated by semicolons or tabs, "
            "save it again as 'CSV UTF-8 (comma delimited)'"
        )
    return message


def _preview_row(
    line: int,
    cells: list[str],
    *,
    columns: dict[str, int],
    header_width: int,
    uploads_per_name: Counter[str],
    first_line_of_name: dict[str, int],
) -> PreviewRow:
    """Checks one row; records its file name in first_line_of_name when it claims a file."""
    errors: list[str] = []
    warnings: list[str] = []

    def cell(column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    file_name = cell(FILE_NAME_COLUMN)
    matched = False
    if not file_name:
        errors.append(
            f"line {line}: file_name is empty; give the audio file's exact name, e.g. call001.mp3"
        )
    else:
        # The same cleaning as every other upload path, so both sides compare as stored.
        file_name = clean_file_name(file_name)
        path_problem = _path_problem(file_name)
        if path_problem:
            errors.append(f"line {line}: {path_problem}")
        elif file_name in first_line_of_name:
            errors.append(
                f"line {line}: {file_name} is already on line {first_line_of_name[file_name]}; "
                "list each file once"
            )
            matched = file_name in uploads_per_name
        else:
            first_line_of_name[file_name] = line
            matched = file_name in uploads_per_name
        if matched and uploads_per_name[file_name] > 1:
            errors.append(
                f"line {line}: {uploads_per_name[file_name]} uploaded files are named "
                f"{file_name}; upload each file once, or rename them apart"
            )

    given = CallMetadata(**{column: cell(column) for column in METADATA_COLUMNS})
    try:
        metadata = normalise_metadata(given)
    except UploadRejectedError as rejected:
        errors.append(f"line {line}: {rejected.message}")
        metadata = given
    metadata, neutralised = _neutralised(metadata)
    warnings.extend(
        f"line {line}: {column} starts with '{value[0]}', which spreadsheets run as a formula; "
        "it is kept as text with a ' in front"
        for column, value in neutralised
    )

    extra_values = [value for value in cells[header_width:] if value.strip()]
    if extra_values:
        warnings.append(
            f"line {line}: has {len(cells)} values but the header names {header_width} "
            "columns; the extra values are ignored"
        )
    return PreviewRow(line, file_name, metadata, matched, tuple(errors), tuple(warnings))


def _path_problem(file_name: str) -> str | None:
    """Why a file name is a path, not a name (bulk upload matches names only)."""
    if "/" in file_name or "\\" in file_name:
        # rsplit on both separators gives the name the user probably meant.
        base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
        hint = f", e.g. {base}" if base.strip(".") else ""
        return f"file_name '{file_name}' looks like a path; give only the file's name{hint}"
    if not file_name.strip("."):
        return f"file_name '{file_name}' is not a file name; give the audio file's exact name"
    return None


def _neutralised(metadata: CallMetadata) -> tuple[CallMetadata, list[tuple[str, str]]]:
    """The metadata with formula-like values neutralised, and which (column, value) were."""
    changed: dict[str, str] = {}
    originals: list[tuple[str, str]] = []
    for column, value in dataclasses.asdict(metadata).items():
        safe = neutralise_formula(value)
        if safe != value:
            changed[column] = safe
            originals.append((column, value))
    return dataclasses.replace(metadata, **changed), originals
