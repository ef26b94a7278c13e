"""Which bytes of a stored recording a read returns."""

from __future__ import annotations


class AudioRangeError(ValueError):
    """A read that starts at or past the end of the file."""


def audio_range(size_bytes: int, offset: int, length: int) -> tuple[int, int]:
    """(offset, length) to send: length 0 reads to the end, a length past the end is cut."""
    if offset < 0 or length < 0:
        raise AudioRangeError("offset and length must not be negative")
    if offset >= size_bytes:
        raise AudioRangeError(
            f"offset {offset} is at or past the end of the {size_bytes}-byte recording"
        )
    available = size_bytes - offset
    return offset, available if length == 0 else min(length, available)


class NoStoredAudioError(Exception):
    """The call keeps no recording: a duplicate's audio is its original's."""

    def __init__(self, call_id: str, duplicate_of: str) -> None:
        reason = f"; play the original call {duplicate_of}" if duplicate_of else ""
        super().__init__(f"call {call_id} keeps no audio{reason}")
