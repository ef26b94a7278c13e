"""Transcript version numbering: every re-run is a new version, the old ones stay readable."""

from __future__ import annotations

FIRST_VERSION = 1
LATEST_VERSION = 0
"""Asking for version 0 means asking for the latest version."""


def next_version(latest: int | None) -> int:
    """The version after the latest stored one (None or 0 when nothing is stored yet)."""
    if latest is None or latest < FIRST_VERSION:
        return FIRST_VERSION
    return latest + 1
