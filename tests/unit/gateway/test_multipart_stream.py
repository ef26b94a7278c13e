"""The streaming multipart parser yields fields and file bytes in arrival order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from callscope_gateway.adapters.multipart import (
    FileBytes,
    FileEnded,
    FileStarted,
    FormField,
    MalformedMultipartError,
    boundary_of,
    stream_form,
)

BOUNDARY = b"----callscope"


def body(*parts: bytes) -> bytes:
    return b"".join(b"--" + BOUNDARY + b"\r\n" + part + b"\r\n" for part in parts) + (
        b"--" + BOUNDARY + b"--\r\n"
    )


def field(name: str, value: str) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()


def file_part(name: str, file_name: str, data: bytes) -> bytes:
    head = (
        f'Content-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
        "Content-Type: audio/mpeg\r\n\r\n"
    )
    return head.encode() + data


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def collect(data: bytes, size: int = 7) -> list[object]:
    return [event async for event in stream_form(chunks(data, size), BOUNDARY)]


async def test_file_first_then_fields_like_curl() -> None:
    audio = bytes(range(256)) * 40
    events = await collect(
        body(file_part("file", "call_JS001.mp3", audio), field("agent_code", "JS001"))
    )
    assert isinstance(events[0], FileStarted)
    assert events[0].file_name == "call_JS001.mp3"
    received = b"".join(e.data for e in events if isinstance(e, FileBytes))
    assert received == audio
    assert any(isinstance(e, FileEnded) for e in events)
    assert events[-1] == FormField("agent_code", "JS001")


async def test_hostile_and_unicode_file_names_arrive_verbatim() -> None:
    events = await collect(body(file_part("file", "../../etc/passwd €.mp3", b"x")))
    assert events[0] == FileStarted("file", "../../etc/passwd €.mp3", "audio/mpeg")


async def test_oversized_field_is_refused() -> None:
    with pytest.raises(MalformedMultipartError):
        await collect(body(field("disposition", "x" * 70_000)), size=4096)


def test_content_type_must_be_multipart() -> None:
    assert boundary_of("multipart/form-data; boundary=abc") == b"abc"
    for bad in (None, "application/json", "multipart/form-data"):
        with pytest.raises(MalformedMultipartError):
            boundary_of(bad)
