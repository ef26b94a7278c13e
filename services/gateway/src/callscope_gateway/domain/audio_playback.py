"""Playing a call's recording in a browser: HTTP byte ranges and a safe download name."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

# One range of the `bytes` unit: "a-b", "a-" or "-n" (RFC 9110 §14.1.2), digits only.
_RANGE_SPEC = re.compile(r"^(?P<first>\d*)-(?P<last>\d*)$")
# Characters kept as they are in the plain-ASCII `filename=` fallback; the rest become "_".
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._()\- ]")
_MAX_NAME_CHARS = 150

_EXTENSION_FOR_TYPE = {
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/mp4": ".m4a",
    "audio/webm": ".webm",
    "audio/ogg": ".ogg",
}


@dataclass(frozen=True)
class ByteRange:
    """Bytes first to last, inclusive, of a file of `size` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        """How many bytes the range holds."""
        return self.last - self.first + 1

    def content_range(self) -> str:
        """The Content-Range header of a 206 answer."""
        return f"bytes {self.first}-{self.last}/{self.size}"


class RangeNotSatisfiableError(ValueError):
    """A Range header none of whose bytes exist (416, with `Content-Range: bytes */size`)."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"the requested range is outside the recording, which has {size} bytes "
            "(first byte 0); ask for bytes=0- to play it from the start"
        )
        self.size = size


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one range a Range header asks for, or None to send the whole file (200).

    As RFC 9110 allows, a header that is not a single well-formed `bytes` range (another
    unit, several ranges, bad syntax) is ignored and the whole file is sent. A range that
    starts past the end, or an empty suffix, raises RangeNotSatisfiableError.
    """
    if not header:
        return None
    unit, _, specs = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in specs:
        return None
    match = _RANGE_SPEC.match(specs.strip())
    if match is None:
        return None
    first, last = match["first"], match["last"]
    if not first and not last:
        return None
    if not first:  # a suffix: the last n bytes
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiableError(size)
        return ByteRange(max(size - suffix, 0), size - 1, size)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid, so ignored
    if start >= size:
        raise RangeNotSatisfiableError(size)
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1), size)


def content_disposition(file_name: str, call_id: str, content_type: str) -> str:
    """`inline` with a name safe in any browser: an ASCII `filename` and RFC 5987 `filename*`.

    The stored name is the uploader's and may hold anything: paths, quotes, control and
    bidirectional characters, CR/LF. Those are dropped; a name left empty becomes
    `call-<id>.<ext>`.
    """
    extension = _EXTENSION_FOR_TYPE.get(content_type.split(";", maxsplit=1)[0].strip().lower(), "")
    fallback_name = f"call-{call_id}{extension}"
    name = _clean(file_name) or fallback_name
    ascii_name = _ascii(name) or fallback_name
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _clean(file_name: str) -> str:
    # Only the last path component: "../../etc/passwd" and "C:\\x\\y.wav" name a file, not a path.
    base = re.split(r"[/\\]", file_name)[-1]
    kept = "".join(
        char for char in unicodedata.normalize("NFC", base) if unicodedata.category(char)[0] != "C"
    )
    kept = " ".join(kept.split()).strip(" .")
    if len(kept) > _MAX_NAME_CHARS:
        stem, dot, ext = kept.rpartition(".")
        kept = (
            stem[: _MAX_NAME_CHARS - len(ext) - 1] + dot + ext
            if dot and len(ext) <= 10
            else kept[:_MAX_NAME_CHARS]
        )
    return kept


def _ascii(name: str) -> str:
    """The name folded to ASCII; empty when nothing readable of its stem survives."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = _UNSAFE_ASCII.sub("_", folded)
    stem = safe.rpartition(".")[0] if "." in safe else safe
    return safe.strip(" .") if any(char.isalnum() for char in stem) else ""
