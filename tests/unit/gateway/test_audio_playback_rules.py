"""Playing a recording: which bytes a Range header asks for, the download name, trend windows."""

from __future__ import annotations

import datetime as dt

import pytest
from callscope_gateway.domain.audio_playback import (
    ByteRange,
    RangeNotSatisfiableError,
    content_disposition,
    requested_range,
)
from callscope_gateway.domain.trends import TrendBucket, trend_window

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=500-599", (500, 599)),
        ("bytes=500-", (500, 999)),
        ("bytes=-50", (950, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=999-999", (999, 999)),
        ("BYTES = 0-0", (0, 0)),
    ],
)
def test_a_single_byte_range_is_served_cut_at_the_end(
    header: str, expected: tuple[int, int]
) -> None:
    wanted = requested_range(header, SIZE)
    assert wanted is not None
    assert (wanted.first, wanted.last) == expected
    assert wanted.length == expected[1] - expected[0] + 1


@pytest.mark.parametrize(
    "header",
    [None, "", "bytes=", "bytes=-", "items=0-10", "bytes=0-10,20-30", "bytes=abc", "bytes=9-3"],
)
def test_no_header_or_one_that_is_not_a_single_valid_range_sends_the_whole_file(
    header: str | None,
) -> None:
    assert requested_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-2000", "bytes=5000-", "bytes=-0"])
def test_a_range_with_no_byte_in_the_file_is_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiableError) as raised:
        requested_range(header, SIZE)
    assert raised.value.size == SIZE
    assert "1000 bytes" in str(raised.value)


def test_content_range_names_the_bytes_and_the_whole_size() -> None:
    assert ByteRange(0, 99, SIZE).content_range() == "bytes 0-99/1000"


def test_a_plain_name_is_kept_in_both_forms() -> None:
    assert content_disposition("call_JS001.mp3", "c1", "audio/mpeg") == (
        "inline; filename=\"call_JS001.mp3\"; filename*=UTF-8''call_JS001.mp3"
    )


@pytest.mark.parametrize(
    "hostile",
    [
        '../../etc/"passwd".wav',
        "C:\\Users\\x\\evil\r\nSet-Cookie: a=b.wav",
        "\u202egnp.exe.wav",
        "a\";filename*=UTF-8''x.exe",
        "name\x00with\x7fcontrols.wav",
    ],
)
def test_a_hostile_name_cannot_break_out_of_the_header(hostile: str) -> None:
    header = content_disposition(hostile, "c1", "audio/wav")
    assert header.isascii() and header.isprintable()
    assert "\r" not in header and "\n" not in header
    disposition, plain, extended = header.split("; ")
    assert disposition == "inline"
    # The quoted fallback holds no quote, backslash or path separator of its own.
    assert plain.startswith('filename="') and plain.endswith('"')
    inner = plain[len('filename="') : -1]
    assert not any(char in inner for char in '"\\/;')
    assert extended.startswith("filename*=UTF-8''")
    assert not any(char in extended[len("filename*=UTF-8''") :] for char in "\"'\\/; ")


def test_a_non_ascii_name_keeps_its_letters_in_filename_star_and_folds_in_the_fallback() -> None:
    header = content_disposition("Zoë Müller.mp3", "c1", "audio/mpeg")
    assert 'filename="Zoe Muller.mp3"' in header
    assert "filename*=UTF-8''Zo%C3%AB%20M%C3%BCller.mp3" in header


def test_a_name_with_nothing_readable_in_ascii_falls_back_to_the_call_id() -> None:
    header = content_disposition("日本語.wav", "c9", "audio/wav")
    assert 'filename="call-c9.wav"' in header
    assert "%E6%97%A5" in header
    assert 'filename="call-c9.m4a"' in content_disposition("../..", "c9", "audio/mp4")


def test_a_very_long_name_is_cut_keeping_its_extension() -> None:
    header = content_disposition("x" * 400 + ".ogg", "c1", "audio/ogg")
    plain = header.split("; ")[1]
    assert plain.endswith('.ogg"') and len(plain) < 170


NOW = dt.datetime(2026, 3, 18, 15, 0, tzinfo=dt.UTC)  # a Wednesday


def test_a_day_trend_defaults_to_the_last_30_days_up_to_the_end_of_today() -> None:
    start, end = trend_window(TrendBucket.DAY, None, None, NOW)
    assert end == dt.datetime(2026, 3, 19, tzinfo=dt.UTC)
    assert start == dt.datetime(2026, 2, 17, tzinfo=dt.UTC)
    assert (end - start).days == 30


def test_a_week_trend_defaults_to_12_whole_weeks_from_a_monday() -> None:
    start, end = trend_window(TrendBucket.WEEK, None, None, NOW)
    assert start.weekday() == 0
    assert start == dt.datetime(2026, 3, 16, tzinfo=dt.UTC) - dt.timedelta(weeks=11)
    assert end == dt.datetime(2026, 3, 19, tzinfo=dt.UTC)


def test_given_trend_bounds_are_kept() -> None:
    given_start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    given_end = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    assert trend_window(TrendBucket.DAY, given_start, given_end, NOW) == (given_start, given_end)
