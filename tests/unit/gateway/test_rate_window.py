"""Fixed one-minute rate windows: where a moment falls, when the window ends, Retry-After."""

from __future__ import annotations

import datetime as dt

import pytest
from callscope_gateway.domain.rate_limit import (
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    RateWindow,
    effective_limit,
    window_at,
)

T0 = dt.datetime(2026, 1, 15, 10, 30, 0, tzinfo=dt.UTC)


def test_windows_start_on_whole_minutes() -> None:
    window = window_at(T0 + dt.timedelta(seconds=59, microseconds=999_999))
    assert window.start_epoch == int(T0.timestamp())
    assert window.end_epoch == window.start_epoch + 60
    assert window.ends_at == T0 + dt.timedelta(minutes=1)
    assert window_at(T0 + dt.timedelta(seconds=60)).start_epoch == window.end_epoch


def test_the_same_moment_in_another_zone_is_the_same_window() -> None:
    local = (T0 + dt.timedelta(seconds=42)).astimezone(
        dt.timezone(dt.timedelta(hours=5, minutes=30))
    )
    assert window_at(local) == window_at(T0)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        window_at(dt.datetime(2026, 1, 15, 10, 30))


@pytest.mark.parametrize(
    ("offset_s", "retry_after"),
    [(0.0, 60), (0.4, 60), (1.0, 59), (30.2, 30), (58.0, 2), (59.1, 1), (59.999, 1)],
)
def test_retry_after_is_whole_seconds_to_the_window_end_and_at_least_one(
    offset_s: float, retry_after: int
) -> None:
    now = T0 + dt.timedelta(seconds=offset_s)
    assert window_at(now).retry_after_s(now) == retry_after


def test_retry_after_never_drops_below_one_even_past_the_end() -> None:
    window = RateWindow(start_epoch=int(T0.timestamp()))
    assert window.retry_after_s(T0 + dt.timedelta(seconds=75)) == 1


def test_a_keys_own_limit_wins_over_the_default() -> None:
    assert effective_limit(None, DEFAULT_RATE_LIMIT_PER_MINUTE) == 600
    assert effective_limit(5, 600) == 5
    assert effective_limit(5000, 600) == 5000
