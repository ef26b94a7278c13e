"""Waiting between attempts at a hosted API: exponential backoff with full jitter, and the
server's own Retry-After, capped. Transcription's providers and analysis's Claude client share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, and the longest Retry-After we agree to wait."""

    base_s: float = 1.0
    max_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, fraction: float) -> float:
        """The wait after the attempt-th failure: fraction (0-1) of base * 2^(attempt-1), capped."""
        ceiling = min(self.max_s, self.base_s * 2.0 ** max(attempt - 1, 0))
        return max(0.0, min(fraction, 1.0)) * ceiling

    def wait(self, attempt: int, fraction: float, retry_after: float | None) -> float:
        """The server's Retry-After when it gave one (capped), else the jittered backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        return self.delay(attempt, fraction)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP-date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
