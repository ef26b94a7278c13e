"""Which folder entries the sftp service takes (audio, CSV, `.done` markers) and why it skips
the others; names made safe to store and show."""

from __future__ import annotations

import pytest
from callscope_sftp.domain.entries import (
    AUDIO_EXTENSIONS,
    MAX_NAME_BYTES,
    Entry,
    EntryType,
    Verdict,
    display_name,
    judge,
)
from callscope_sftp.domain.model import FileKind


def entry(name: str, kind: EntryType = EntryType.FILE) -> Entry:
    return Entry(name=name, type=kind, size_bytes=10, mtime=1_768_467_600)


def undecodable(raw: bytes) -> str:
    """A name as Python gets it from the server: undecodable bytes as surrogates."""
    return raw.decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("name", ["call.wav", "call.mp3", "a.b.c.m4a", "x.flac", "y.opus"])
def test_audio_files_are_tracked_as_audio(name: str) -> None:
    assert judge(entry(name)) == Verdict(FileKind.AUDIO)


@pytest.mark.parametrize("extension", sorted(AUDIO_EXTENSIONS))
def test_every_audio_extension_counts_in_any_case(extension: str) -> None:
    assert judge(entry(f"call.{extension}")).kind is FileKind.AUDIO
    assert judge(entry(f"call.{extension.upper()}")).kind is FileKind.AUDIO


@pytest.mark.parametrize("name", ["batch.csv", "batch.CSV", "Batch.Csv", "2026-01-15.metadata.csv"])
def test_csv_files_are_tracked_as_csv_in_any_case(name: str) -> None:
    assert judge(entry(name)) == Verdict(FileKind.CSV)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("notes.txt", ".txt"),
        ("call.wav.part", ".part"),
        ("archive.tar.GZ", ".gz"),
        ("README", "no extension"),
        ("trailing.", "no extension"),
    ],
)
def test_other_files_are_skipped_with_their_extension_named(name: str, shown: str) -> None:
    verdict = judge(entry(name))
    assert verdict.kind is None
    assert verdict.marks_complete == ""
    assert verdict.reason.startswith(f"not an audio file or a CSV ({shown});")
    assert ".wav" in verdict.reason and ".mp3" in verdict.reason


@pytest.mark.parametrize("name", [".hidden.wav", ".batch.csv", ".call.wav.part", ".done"])
def test_hidden_names_are_skipped(name: str) -> None:
    verdict = judge(entry(name))
    assert verdict.kind is None
    assert verdict.marks_complete == ""
    assert "hidden file" in verdict.reason
    assert "rename it" in verdict.reason


def test_a_symbolic_link_is_skipped_whatever_its_name() -> None:
    verdict = judge(entry("call.wav", EntryType.LINK))
    assert verdict.kind is None
    assert "symbolic link" in verdict.reason
    assert "outside the campaign folder" in verdict.reason


def test_a_link_named_like_a_marker_marks_nothing() -> None:
    verdict = judge(entry("call.wav.done", EntryType.LINK))
    assert verdict.marks_complete == ""
    assert "symbolic link" in verdict.reason


def test_a_folder_is_skipped() -> None:
    verdict = judge(entry("more-calls", EntryType.FOLDER))
    assert verdict.kind is None
    assert "folder" in verdict.reason
    assert "directly in the campaign folder" in verdict.reason


def test_a_device_socket_or_pipe_is_skipped() -> None:
    verdict = judge(entry("call.wav", EntryType.OTHER))
    assert verdict.kind is None
    assert "not a regular file" in verdict.reason


@pytest.mark.parametrize(
    ("name", "target"),
    [("call.wav.done", "call.wav"), ("Call.WAV.DONE", "Call.WAV"), ("batch.csv.Done", "batch.csv")],
)
def test_a_done_marker_marks_its_file_complete(name: str, target: str) -> None:
    assert judge(entry(name)) == Verdict(None, marks_complete=target)


@pytest.mark.parametrize(
    "name",
    ["call\n.wav", "call\r.wav", "call\t.wav", "call\x00.wav", "call\x1b[31m.wav", "a\x7f.wav"],
)
def test_names_with_control_characters_are_skipped(name: str) -> None:
    verdict = judge(entry(name))
    assert verdict.kind is None
    assert "control characters" in verdict.reason


@pytest.mark.parametrize("raw", [b"bad\xff.wav", b"caf\xe9.wav", b"\xc3.csv", b"x.wav\xff.done"])
def test_names_that_are_not_utf8_are_skipped(raw: bytes) -> None:
    verdict = judge(entry(undecodable(raw)))
    assert verdict.kind is None
    assert verdict.marks_complete == ""
    assert "not valid UTF-8" in verdict.reason


def test_names_up_to_255_bytes_are_taken_and_longer_ones_skipped() -> None:
    longest = "a" * (MAX_NAME_BYTES - 4) + ".wav"
    assert len(longest.encode()) == MAX_NAME_BYTES
    assert judge(entry(longest)).kind is FileKind.AUDIO
    too_long = "a" * (MAX_NAME_BYTES - 3) + ".wav"
    verdict = judge(entry(too_long))
    assert verdict.kind is None
    assert "longer than 255 bytes" in verdict.reason


def test_the_length_limit_counts_bytes_not_characters() -> None:
    # 128 two-byte characters: 128 characters, 256 bytes (+ the extension).
    verdict = judge(entry("é" * 128 + ".wav"))
    assert verdict.kind is None
    assert "longer than 255 bytes" in verdict.reason


@pytest.mark.parametrize("name", ["a\\b.wav", "..", "."])
def test_names_that_are_paths_are_skipped(name: str) -> None:
    verdict = judge(entry(name, EntryType.FOLDER if name in {".", ".."} else EntryType.FILE))
    assert verdict.kind is None
    assert "is a path" in verdict.reason


def test_unicode_names_are_taken() -> None:
    assert judge(entry("appel_été_日本.wav")).kind is FileKind.AUDIO


def test_display_name_keeps_a_plain_name() -> None:
    assert display_name("appel_été_日本.wav") == "appel_été_日本.wav"


def test_display_name_replaces_undecodable_bytes() -> None:
    shown = display_name(undecodable(b"bad\xff.wav"))
    assert shown == "bad?.wav"
    shown.encode("utf-8")  # storable: no surrogates left


def test_display_name_replaces_control_and_drops_format_characters() -> None:
    assert display_name("a\nb\x00c\x1b.wav") == "a?b?c?.wav"
    # U+202E (right-to-left override) could make "evil\u202evaw.exe" look like "evilexe.wav";
    # dropped, as ingest drops format characters from every stored name.
    assert display_name("evil\u202evaw.exe") == "evilvaw.exe"
