"""The dashboard's counting rules: histogram buckets, averages, flags, agents and periods."""

from __future__ import annotations

import datetime as dt

import pytest
from callscope_ingest.domain.audio_range import AudioRangeError, audio_range
from callscope_ingest.domain.call_summary import (
    MAX_PERIODS,
    AgentKey,
    SummaryBuilder,
    SummaryRow,
    TimeBucket,
    TooManyPeriodsError,
    bucket_start,
    period_starts,
    score_bucket,
)

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
ANA = AgentKey("a1", "AN001", "Ana")
BEN = AgentKey("b2", "BE002", "Ben")


def _row(
    day: int,
    score: float | None = None,
    *,
    flagged: bool = False,
    agent: AgentKey | None = None,
    reviewed: bool = False,
) -> SummaryRow:
    return SummaryRow(
        created_at=dt.datetime(2026, 3, day, 9, 30, tzinfo=dt.UTC),
        score=score,
        flagged=flagged,
        agent=agent,
        reviewed=reviewed,
    )


@pytest.mark.parametrize(
    ("score", "bucket"),
    [
        (0.0, 0),
        (9.99, 0),
        (10.0, 1),
        (55.5, 5),
        (89.999, 8),
        (90.0, 9),
        (100.0, 9),
        (-3.0, 0),
        (104.0, 9),
    ],
)
def test_a_score_falls_in_one_bucket_of_ten_points_and_100_in_the_last(
    score: float, bucket: int
) -> None:
    assert score_bucket(score) == bucket


def test_the_histogram_has_ten_buckets_covering_0_to_100_and_counts_only_scored_calls() -> None:
    builder = SummaryBuilder()
    for row in (_row(1, 100.0), _row(1, 95.0), _row(2, 0.0), _row(2, 42.0), _row(3)):
        builder.add(row)
    buckets = builder.histogram_buckets()
    assert [(lower, upper) for lower, upper, _ in buckets] == [
        (lower, lower + 10) for lower in range(0, 100, 10)
    ]
    assert [calls for *_, calls in buckets] == [1, 0, 0, 0, 1, 0, 0, 0, 0, 2]
    assert sum(calls for *_, calls in buckets) == builder.overall.scored_calls == 4


def test_the_average_is_over_scored_calls_only_and_zero_without_any() -> None:
    builder = SummaryBuilder()
    assert builder.overall.average_score == 0.0
    for row in (_row(1, 80.0), _row(1, 90.0), _row(1), _row(1)):
        builder.add(row)
    assert builder.overall.calls == 4
    assert builder.overall.scored_calls == 2
    assert builder.overall.average_score == pytest.approx(85.0)


def test_flagged_counts_scored_flagged_calls_and_unreviewed_those_nobody_marked() -> None:
    builder = SummaryBuilder()
    for row in (
        _row(1, 40.0, flagged=True),
        _row(1, 50.0, flagged=True, reviewed=True),
        _row(1, 99.0),
        # A flag without a score cannot happen; it is not counted if it does.
        _row(1, None, flagged=True),
    ):
        builder.add(row)
    assert builder.overall.flagged == 2
    assert builder.overall.flagged_unreviewed == 1


def test_agents_are_tallied_apart_most_calls_first_named_by_their_newest_link() -> None:
    builder = SummaryBuilder()
    renamed = AgentKey("a1", "AN001", "Ana Maria")
    # Newest first, as the store sends them.
    for row in (
        _row(5, 70.0, agent=renamed, flagged=True),
        _row(4, 90.0, agent=ANA),
        _row(4, 60.0, agent=BEN),
        _row(3, None, agent=ANA),
        _row(2, 50.0),
    ):
        builder.add(row)
    ana, ben = builder.agent_tallies()
    assert ana.agent == renamed
    assert (ana.tally.calls, ana.tally.scored_calls, ana.tally.flagged) == (3, 2, 1)
    assert ana.tally.average_score == pytest.approx(80.0)
    assert ben.agent == BEN and ben.tally.calls == 1
    # The unlinked call counts overall only.
    assert builder.overall.calls == 5


def test_agents_with_as_many_calls_are_ordered_by_code() -> None:
    builder = SummaryBuilder()
    builder.add(_row(1, 10.0, agent=BEN))
    builder.add(_row(1, 10.0, agent=ANA))
    assert [entry.agent.code for entry in builder.agent_tallies()] == ["AN001", "BE002"]


def test_days_start_at_utc_midnight_and_weeks_on_monday() -> None:
    wednesday_late = dt.datetime(2026, 3, 18, 23, 59, tzinfo=dt.UTC)
    assert bucket_start(wednesday_late, TimeBucket.DAY) == dt.datetime(2026, 3, 18, tzinfo=dt.UTC)
    assert bucket_start(wednesday_late, TimeBucket.WEEK) == dt.datetime(2026, 3, 16, tzinfo=dt.UTC)
    # An instant given in another offset is bucketed by its UTC day.
    paris_early = dt.datetime(2026, 3, 19, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert bucket_start(paris_early, TimeBucket.DAY) == dt.datetime(2026, 3, 18, tzinfo=dt.UTC)
    # The store may hand back naive UTC datetimes.
    assert bucket_start(dt.datetime(2026, 3, 22, 8), TimeBucket.WEEK) == dt.datetime(
        2026, 3, 16, tzinfo=dt.UTC
    )


def test_a_series_fills_the_asked_range_empty_buckets_included() -> None:
    builder = SummaryBuilder(bucket=TimeBucket.DAY)
    builder.add(_row(12, 80.0, flagged=True))
    builder.add(_row(12, 60.0))
    builder.add(_row(10, None))
    series = builder.series(
        dt.datetime(2026, 3, 9, tzinfo=dt.UTC), dt.datetime(2026, 3, 14, tzinfo=dt.UTC), NOW
    )
    assert [start.day for start, _ in series] == [9, 10, 11, 12, 13]
    by_day = {start.day: tally for start, tally in series}
    assert (by_day[12].calls, by_day[12].average_score, by_day[12].flagged) == (2, 70.0, 1)
    assert (by_day[10].calls, by_day[10].scored_calls) == (1, 0)
    assert by_day[11].calls == by_day[9].calls == by_day[13].calls == 0


def test_a_series_without_bounds_spans_the_calls_and_an_open_end_runs_to_now() -> None:
    builder = SummaryBuilder(bucket=TimeBucket.WEEK)
    builder.add(_row(3, 50.0))
    builder.add(_row(17, 50.0))
    unbounded = builder.series(None, None, NOW)
    assert [start.day for start, _ in unbounded] == [2, 9, 16]
    to_now = SummaryBuilder(bucket=TimeBucket.DAY).series(
        dt.datetime(2026, 3, 18, tzinfo=dt.UTC), None, NOW
    )
    assert [start.day for start, _ in to_now] == [18, 19, 20]
    assert SummaryBuilder(bucket=TimeBucket.DAY).series(None, None, NOW) == []
    assert SummaryBuilder().series(None, None, NOW) == []


def test_a_series_longer_than_the_limit_is_refused_with_what_to_do() -> None:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert len(
        period_starts(start, start + dt.timedelta(days=MAX_PERIODS - 1), TimeBucket.DAY)
    ) == (MAX_PERIODS)
    with pytest.raises(TooManyPeriodsError, match="narrow from/to"):
        period_starts(start, start + dt.timedelta(days=MAX_PERIODS), TimeBucket.DAY)
    assert len(period_starts(start, start + dt.timedelta(days=MAX_PERIODS), TimeBucket.WEEK)) < 60


@pytest.mark.parametrize(
    ("offset", "length", "expected"),
    [
        (0, 0, (0, 1000)),
        (0, 100, (0, 100)),
        (900, 0, (900, 100)),
        (900, 500, (900, 100)),
        (999, 1, (999, 1)),
    ],
)
def test_an_audio_read_covers_the_asked_bytes_cut_at_the_end(
    offset: int, length: int, expected: tuple[int, int]
) -> None:
    assert audio_range(1000, offset, length) == expected


@pytest.mark.parametrize(("offset", "length"), [(1000, 0), (5000, 10), (-1, 0), (0, -5)])
def test_an_audio_read_from_past_the_end_is_refused(offset: int, length: int) -> None:
    with pytest.raises(AudioRangeError):
        audio_range(1000, offset, length)
