"""The time window of an agent's score trend when the screen does not name one."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum


class TrendBucket(StrEnum):
    """One point per day or per ISO week (Monday to Sunday), in UTC."""

    DAY = "day"
    WEEK = "week"


# Without `from`, a trend shows the last 30 days, or the last 12 weeks.
DEFAULT_DAYS = 30
DEFAULT_WEEKS = 12


def trend_window(
    bucket: TrendBucket, start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end): the given bounds; an open end is the end of today (UTC), an open start
    the default number of days or weeks before the end, aligned to a bucket's start."""
    if end is None:
        end = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
        end += dt.timedelta(days=1)
    if start is None:
        if bucket is TrendBucket.WEEK:
            last_day = (end - dt.timedelta(microseconds=1)).date()
            monday = last_day - dt.timedelta(days=last_day.weekday())
            first = monday - dt.timedelta(weeks=DEFAULT_WEEKS - 1)
        else:
            first = end.date() - dt.timedelta(days=DEFAULT_DAYS)
        start = dt.datetime.combine(first, dt.time(), dt.UTC)
    return start, end
