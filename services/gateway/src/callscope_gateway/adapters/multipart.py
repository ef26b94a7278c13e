"""Parses a multipart/form-data body as it streams in, so a file is never held whole in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header

# Form fields are short metadata values; anything longer is refused.
MAX_FIELD_BYTES = 64 * 1024


class MalformedMultipartError(ValueError):
    """The body is not multipart/form-data we can read."""


@dataclass(frozen=True)
class FormField:
    """A complete text field."""

    name: str
    value: str


@dataclass(frozen=True)
class FileStarted:
    """A file part begins."""

    field_name: str
    file_name: str
    content_type: str


@dataclass(frozen=True)
class FileBytes:
    """Some bytes of the current file part."""

    data: bytes


@dataclass(frozen=True)
class FileEnded:
    """The current file part is complete."""


FormEvent = FormField | FileStarted | FileBytes | FileEnded


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data content type, or an error a person can act on."""
    if not content_type:
        raise MalformedMultipartError("the request needs Content-Type: multipart/form-data")
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise MalformedMultipartError(
            "the request must be multipart/form-data with a boundary (e.g. curl -F file=@call.mp3)"
        )
    return boundary


class _PartCollector:
    """Turns the parser's callbacks into FormEvents."""

    def __init__(self) -> None:
        self.events: list[FormEvent] = []
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._field_name: str | None = None
        self._field_value = bytearray()
        self._in_file = False

    def on_part_begin(self) -> None:
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in params:
            raise MalformedMultipartError("a part has no Content-Disposition: form-data name")
        name = _text(params[b"name"])
        if b"filename" in params:
            self._in_file = True
            content_type = _text(self._headers.get(b"content-type", b"application/octet-stream"))
            self.events.append(FileStarted(name, _text(params[b"filename"]), content_type))
        else:
            self._in_file = False
            self._field_name = name
            self._field_value = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.events.append(FileBytes(bytes(data[start:end])))
            return
        self._field_value += data[start:end]
        if len(self._field_value) > MAX_FIELD_BYTES:
            raise MalformedMultipartError(f"field '{self._field_name}' is too long")

    def on_part_end(self) -> None:
        if self._in_file:
            self.events.append(FileEnded())
        elif self._field_name is not None:
            self.events.append(FormField(self._field_name, _text(bytes(self._field_value))))
        self._in_file = False
        self._field_name = None


async def stream_form(body: AsyncIterator[bytes], boundary: bytes) -> AsyncIterator[FormEvent]:
    """Yields fields and file bytes in the order they arrive."""
    collector = _PartCollector()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": collector.on_part_begin,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
        },
    )
    async for chunk in body:
        try:
            parser.write(chunk)
        except MalformedMultipartError:
            raise
        except Exception as error:
            raise MalformedMultipartError(f"the multipart body is malformed: {error}") from error
        events, collector.events = collector.events, []
        for event in events:
            yield event
    try:
        parser.finalize()
    except Exception as error:
        raise MalformedMultipartError(f"the multipart body ended early: {error}") from error
    for event in collector.events:
        yield event


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
