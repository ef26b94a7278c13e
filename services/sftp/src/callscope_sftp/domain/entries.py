"""Which entries of a campaign folder the service takes, and why it leaves the others.

A folder listing is untrusted input: names come from whoever can write to the folder.
Only regular files directly in the campaign folder are read. Everything else is
recorded as SKIPPED with the reason, and left where it is:

- hidden names (`.x.wav`, also the temporary names many uploaders write to before a rename)
- symbolic links (they could point outside the folder), sub-folders, devices, pipes
- names that are not UTF-8, hold control characters, or are longer than 255 bytes
- anything that is neither audio (by extension) nor a CSV

`<name>.done` is a marker, not a file: the sender says `<name>` is completely written.
Whether an audio file really is audio is ingest's decision (by its content), not ours.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from callscope_sftp.domain.model import FileKind

# Extensions tried as audio: ingest accepts some and explains why it refuses the others.
AUDIO_EXTENSIONS = frozenset(
    {
        "mp3", "wav", "m4a", "mp4", "webm", "ogg", "oga", "opus",
        "aac", "flac", "3gp", "wma", "amr", "aif", "aiff",
    }
)  # fmt: skip
CSV_EXTENSION = "csv"
COMPLETE_MARKER_SUFFIX = ".done"
MAX_NAME_BYTES = 255


class EntryType(StrEnum):
    """What the server says an entry is (from lstat: links are not followed)."""

    FILE = "file"
    FOLDER = "folder"
    LINK = "link"
    OTHER = "other"


@dataclass(frozen=True)
class Entry:
    """One entry of a folder listing."""

    name: str
    type: EntryType
    size_bytes: int
    mtime: int


@dataclass(frozen=True)
class Verdict:
    """What the service does with an entry: track it as `kind`, or skip it for `reason`."""

    kind: FileKind | None
    reason: str = ""
    # The entry is `<target>.done`: it marks `target` complete.
    marks_complete: str = ""


def display_name(name: str) -> str:
    """The name made safe to store and show, compared with CSV rows and claimed for imports.

    Invisible format characters (zero-width spaces, direction marks) are dropped, as ingest
    drops them from every stored file name, so a CSV row names the file the way ingest
    will; undecodable bytes and control characters (never imported) show as `?`.
    """
    raw = name.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "replace").replace("\ufffd", "?")
    kept = (c for c in text if unicodedata.category(c) != "Cf")
    return "".join("?" if unicodedata.category(c) == "Cc" else c for c in kept)


def judge(entry: Entry) -> Verdict:
    """Track the entry as audio or CSV, or skip it (with a reason a customer understands)."""
    name = entry.name
    problem = _name_problem(name)
    if problem:
        return Verdict(None, problem)
    if name.startswith("."):
        return Verdict(None, "hidden file (its name starts with '.'); rename it to import it")
    if entry.type is EntryType.LINK:
        return Verdict(
            None,
            "symbolic link: only regular files are imported, a link could point outside "
            "the campaign folder",
        )
    if entry.type is EntryType.FOLDER:
        return Verdict(
            None,
            "folder: files inside sub-folders are not imported; put them directly in the "
            "campaign folder",
        )
    if entry.type is not EntryType.FILE:
        return Verdict(None, "not a regular file (a device, socket or pipe)")
    lowered = name.lower()
    if lowered.endswith(COMPLETE_MARKER_SUFFIX) and len(name) > len(COMPLETE_MARKER_SUFFIX):
        return Verdict(None, marks_complete=name[: -len(COMPLETE_MARKER_SUFFIX)])
    extension = lowered.rsplit(".", 1)[-1] if "." in lowered else ""
    if extension == CSV_EXTENSION:
        return Verdict(FileKind.CSV)
    if extension in AUDIO_EXTENSIONS:
        return Verdict(FileKind.AUDIO)
    shown = f".{extension}" if extension else "no extension"
    return Verdict(
        None,
        f"not an audio file or a CSV ({shown}); audio files end in "
        + ", ".join(f".{e}" for e in sorted(AUDIO_EXTENSIONS)),
    )


def _name_problem(name: str) -> str:
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8; rename the file"
    if len(encoded) > MAX_NAME_BYTES:
        return f"the file name is longer than {MAX_NAME_BYTES} bytes; rename the file"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "the file name holds control characters (such as a line break); rename the file"
    if "/" in name or "\\" in name or name in {".", ".."}:
        return "the file name is a path, not a name; rename the file"
    return ""
