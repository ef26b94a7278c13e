"""Summaries of many calls for the dashboard and agent trends: the counting rules, once.

The store feeds one `SummaryRow` per call (a small projection, newest first) into a
`SummaryBuilder`; memory stays bounded by the number of agents and time buckets, never
by the number of calls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

# How many calls one summary reads at most; beyond, the score statistics cover the
# newest ones only and the summary says it is truncated. The counts by status and
# source are counted by the store and stay exact.
SUMMARY_SCAN_LIMIT = 100_000
# A time series longer than this is refused: narrow the range or use weeks.
MAX_PERIODS = 400
# Ten buckets of ten points over the score range 0 to 100.
SCORE_BUCKET_WIDTH = 10
SCORE_BUCKETS = 10


class TimeBucket(StrEnum):
    """How a series groups calls in time (UTC, by upload time)."""

    DAY = "DAY"
    WEEK = "WEEK"


@dataclass(frozen=True)
class AgentKey:
    """An agent as linked to a call."""

    agent_id: str
    code: str
    name: str


@dataclass(frozen=True)
class SummaryRow:
    """What a summary needs of one call."""

    created_at: dt.datetime
    # None until the call has an analysis result.
    score: float | None
    flagged: bool
    agent: AgentKey | None
    # Whether a person has marked the call reviewed.
    reviewed: bool = False


@dataclass
class ScoreTally:
    """Calls, scored calls, their score sum and the flagged ones of a set of calls."""

    calls: int = 0
    scored_calls: int = 0
    score_sum: float = 0.0
    flagged: int = 0
    flagged_unreviewed: int = 0

    def add(self, row: SummaryRow) -> None:
        """Counts one call."""
        self.calls += 1
        if row.score is not None:
            self.scored_calls += 1
            self.score_sum += row.score
            if row.flagged:
                self.flagged += 1
                if not row.reviewed:
                    self.flagged_unreviewed += 1

    @property
    def average_score(self) -> float:
        """The mean score of the scored calls; 0 when there are none."""
        return self.score_sum / self.scored_calls if self.scored_calls else 0.0


def score_bucket(score: float) -> int:
    """The histogram bucket of a score: [0, 10) is 0 ... [90, 100] is 9; out-of-range scores
    are clamped, so that every scored call is counted once."""
    index = int(score // SCORE_BUCKET_WIDTH)
    return min(max(index, 0), SCORE_BUCKETS - 1)


def bucket_start(moment: dt.datetime, bucket: TimeBucket) -> dt.datetime:
    """The first instant (UTC) of the day or ISO week (from Monday) that holds moment."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    day = dt.datetime.combine(utc.date(), dt.time(), dt.UTC)
    if bucket is TimeBucket.WEEK:
        day -= dt.timedelta(days=day.weekday())
    return day


def _step(bucket: TimeBucket) -> dt.timedelta:
    return dt.timedelta(days=7 if bucket is TimeBucket.WEEK else 1)


class TooManyPeriodsError(ValueError):
    """The asked range has more buckets than a series may hold."""


def period_starts(first: dt.datetime, last: dt.datetime, bucket: TimeBucket) -> list[dt.datetime]:
    """Every bucket start from first's bucket to last's, inclusive; refused beyond MAX_PERIODS."""
    start, end = bucket_start(first, bucket), bucket_start(last, bucket)
    count = (end - start) // _step(bucket) + 1
    if count > MAX_PERIODS:
        unit = "weeks" if bucket is TimeBucket.WEEK else "days"
        raise TooManyPeriodsError(
            f"the time range spans {count} {unit}; a series holds at most {MAX_PERIODS}: "
            "narrow from/to or use a longer bucket"
        )
    return [start + index * _step(bucket) for index in range(max(count, 0))]


@dataclass
class AgentTally:
    """One agent's tally; the code and name are those of the newest call seen first."""

    agent: AgentKey
    tally: ScoreTally = field(default_factory=ScoreTally)


@dataclass
class SummaryBuilder:
    """Accumulates rows into the histogram, the overall, per-agent and per-period tallies."""

    bucket: TimeBucket | None = None
    overall: ScoreTally = field(default_factory=ScoreTally)
    histogram: list[int] = field(default_factory=lambda: [0] * SCORE_BUCKETS)
    agents: dict[str, AgentTally] = field(default_factory=dict)
    periods: dict[dt.datetime, ScoreTally] = field(default_factory=dict)
    scanned: int = 0

    def add(self, row: SummaryRow) -> None:
        """Counts one call everywhere it belongs."""
        self.scanned += 1
        self.overall.add(row)
        if row.score is not None:
            self.histogram[score_bucket(row.score)] += 1
        if row.agent is not None:
            # Rows arrive newest first: the first link seen names the agent.
            entry = self.agents.setdefault(row.agent.agent_id, AgentTally(row.agent))
            entry.tally.add(row)
        if self.bucket is not None:
            start = bucket_start(row.created_at, self.bucket)
            self.periods.setdefault(start, ScoreTally()).add(row)

    def histogram_buckets(self) -> list[tuple[int, int, int]]:
        """(lower, upper, calls) per bucket, lowest first."""
        return [
            (index * SCORE_BUCKET_WIDTH, (index + 1) * SCORE_BUCKET_WIDTH, calls)
            for index, calls in enumerate(self.histogram)
        ]

    def agent_tallies(self) -> list[AgentTally]:
        """Agents with most calls first, then by code, so the order is stable."""
        return sorted(self.agents.values(), key=lambda a: (-a.tally.calls, a.agent.code))

    def series(
        self, created_from: dt.datetime | None, created_to: dt.datetime | None, now: dt.datetime
    ) -> list[tuple[dt.datetime, ScoreTally]]:
        """Every bucket of the range, oldest first, empty ones included.

        The range is the filter's bounds where given (`created_to` is exclusive), else the
        first and last bucket that holds a call; an open end after a given start is now.
        No bounds and no calls is an empty series.
        """
        if self.bucket is None:
            return []
        seen = sorted(self.periods)
        first = created_from or (seen[0] if seen else None)
        last: dt.datetime | None
        if created_to is not None:
            last = created_to - dt.timedelta(microseconds=1)
        elif created_from is not None:
            last = max(seen[-1], now) if seen else now
        else:
            last = seen[-1] if seen else None
        if first is None or last is None or last < first:
            return []
        starts = period_starts(first, last, self.bucket)
        return [(start, self.periods.get(start, ScoreTally())) for start in starts]
