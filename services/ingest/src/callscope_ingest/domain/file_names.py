"""Client file names are data, never paths: kept faithfully but made safe to store."""

from __future__ import annotations

import unicodedata

MAX_FILE_NAME_LENGTH = 255


def clean_file_name(raw: str) -> str:
    """The name to store and display: NFC, no control characters, bounded, never empty.

    Path separators are kept as characters (the name is never joined to a path),
    so `../../etc/passwd.mp3` is displayed exactly as the client sent it.
    """
    name = unicodedata.normalize("NFC", raw)
    name = "".join(char for char in name if unicodedata.category(char) not in {"Cc", "Cf"})
    name = name.strip()
    if len(name) > MAX_FILE_NAME_LENGTH:
        name = name[: MAX_FILE_NAME_LENGTH - 1] + "…"
    return name or "unnamed"
