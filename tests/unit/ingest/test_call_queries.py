"""The call list's page cursor and page size."""

from __future__ import annotations

import datetime as dt

import pytest
from callscope_ingest.domain.call_queries import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    InvalidCursorError,
    PageCursor,
    decode_cursor,
    encode_cursor,
    page_size,
)


def test_a_cursor_survives_the_round_trip_through_its_token() -> None:
    cursor = PageCursor(dt.datetime(2026, 1, 15, 9, 30, 1, 123000, tzinfo=dt.UTC), "abc123")
    token = encode_cursor(cursor)
    assert decode_cursor(token) == cursor
    assert token.isascii() and "=" not in token and "/" not in token and "+" not in token


def test_an_empty_token_is_the_first_page() -> None:
    assert decode_cursor("") is None


@pytest.mark.parametrize(
    "token",
    [
        "not-base64!!",
        "e30",
        encode_cursor(PageCursor(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "x"))[:-3],
        "WzEsMl0",
    ],
)
def test_a_token_we_did_not_issue_is_refused_with_words(token: str) -> None:
    with pytest.raises(InvalidCursorError, match="page token is not valid"):
        decode_cursor(token)


def test_page_size_defaults_and_bounds() -> None:
    assert page_size(0) == DEFAULT_PAGE_SIZE
    assert page_size(1) == 1
    assert page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE
    for bad in (-1, MAX_PAGE_SIZE + 1):
        with pytest.raises(ValueError, match="between 1 and"):
            page_size(bad)
