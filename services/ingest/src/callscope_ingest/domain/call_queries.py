"""Listing calls: the filters a reviewer combines, and an opaque cursor for the next page."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from enum import StrEnum

from callscope_ingest.domain.calls import UploadSource
from callscope_ingest.domain.status import CallStatus

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class FlagFilter(StrEnum):
    """Flagged calls, calls that completed unflagged, or both."""

    ANY = "ANY"
    FLAGGED = "FLAGGED"
    NOT_FLAGGED = "NOT_FLAGGED"


class ReviewFilter(StrEnum):
    """Calls a reviewer marked reviewed, calls not marked (yet), or both."""

    ANY = "ANY"
    UNREVIEWED = "UNREVIEWED"
    REVIEWED = "REVIEWED"


@dataclass(frozen=True)
class PageCursor:
    """Where the previous page ended, in the list's order (newest first, then id)."""

    created_at: dt.datetime
    call_id: str


@dataclass(frozen=True)
class CallQuery:
    """One page of an organisation's calls; empty filters match everything."""

    org_id: str
    campaign_id: str = ""
    # Not empty: only these campaigns (the caller's scope); narrows campaign_id.
    campaign_ids: frozenset[str] = field(default_factory=frozenset)
    statuses: frozenset[CallStatus] = field(default_factory=frozenset)
    sources: frozenset[UploadSource] = field(default_factory=frozenset)
    agent_id: str = ""
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    flagged: FlagFilter = FlagFilter.ANY
    review: ReviewFilter = ReviewFilter.ANY
    job_id: str = ""
    page_size: int = DEFAULT_PAGE_SIZE
    after: PageCursor | None = None


_INVALID_CURSOR = "the page token is not valid; start again from page one"


class InvalidCursorError(ValueError):
    """A page token this service did not issue."""


def page_size(requested: int) -> int:
    """The page size to use: 0 means the default; anything else must be 1 to MAX_PAGE_SIZE."""
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= requested <= MAX_PAGE_SIZE:
        raise ValueError(f"page size must be between 1 and {MAX_PAGE_SIZE}")
    return requested


def encode_cursor(cursor: PageCursor) -> str:
    """An opaque, URL-safe token for the next page."""
    raw = json.dumps([cursor.created_at.isoformat(), cursor.call_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> PageCursor | None:
    """The cursor in a token (None for the first page); InvalidCursorError if it is not ours."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_at, call_id = json.loads(raw)
        stamp = dt.datetime.fromisoformat(created_at)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidCursorError(
            "the page token is not valid; start again from page one"
        ) from error
    if not isinstance(call_id, str) or stamp.tzinfo is None:
        raise InvalidCursorError("the page token is not valid; start again from page one")
    return PageCursor(stamp, call_id)
