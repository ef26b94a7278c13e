"""Fixed one-minute request windows per API key: which window a moment falls in, and when it ends.

Every replica of the gateway counts in the same shared window document, so the
limit holds however many replicas serve a key. A fixed window lets a client send
up to twice the limit across a window boundary; that is the accepted price for a
counter that needs one document per key and minute.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

WINDOW_S = 60
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
# Per-key overrides outside this range are refused: 0 would lock a key out for good
# (revoke it instead) and very large values are a typo rather than a limit.
MIN_RATE_LIMIT_PER_MINUTE = 1
MAX_RATE_LIMIT_PER_MINUTE = 1_000_000


@dataclass(frozen=True)
class RateWindow:
    """One fixed window: [start, start + length)."""

    start_epoch: int
    length_s: int = WINDOW_S

    @property
    def end_epoch(self) -> int:
        """The first second after the window."""
        return self.start_epoch + self.length_s

    @property
    def ends_at(self) -> dt.datetime:
        """The end as an aware UTC time."""
        return dt.datetime.fromtimestamp(self.end_epoch, dt.UTC)

    def retry_after_s(self, now: dt.datetime) -> int:
        """Whole seconds until the window ends, at least 1 (the `Retry-After` value)."""
        return max(1, math.ceil(self.end_epoch - now.timestamp()))


def window_at(now: dt.datetime, length_s: int = WINDOW_S) -> RateWindow:
    """The window containing this moment (windows start at multiples of length_s since epoch)."""
    if now.tzinfo is None:
        raise ValueError("rate windows need an aware time")
    return RateWindow(
        start_epoch=math.floor(now.timestamp() / length_s) * length_s, length_s=length_s
    )


def effective_limit(key_limit: int | None, default_limit: int) -> int:
    """A key's own limit when it has one, else the gateway's default."""
    return key_limit if key_limit is not None else default_limit


@dataclass(frozen=True)
class RateDecision:
    """The outcome of counting one request: admitted or not, and when to retry."""

    admitted: bool
    limit: int
    # The request's place in the window (1 for the first); 0 when it was refused.
    position: int
    window: RateWindow

    def retry_after_s(self, now: dt.datetime) -> int:
        """Seconds until a refused client may try again."""
        return self.window.retry_after_s(now)
