"""Read models of the web UI's screens: a call's audio, and summaries of many calls."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

from callscope_ingest.domain.audio_range import NoStoredAudioError, audio_range
from callscope_ingest.domain.call_queries import CallQuery
from callscope_ingest.domain.call_summary import (
    SUMMARY_SCAN_LIMIT,
    ScoreTally,
    SummaryBuilder,
    TimeBucket,
)
from callscope_ingest.domain.calls import StoredAudio, UploadSource
from callscope_ingest.domain.errors import CallNotFoundError
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.ports import AudioStore, CallStore


@dataclass(frozen=True)
class AudioRead:
    """The stored recording and the range of it that `chunks` streams."""

    audio: StoredAudio
    offset: int
    length: int
    chunks: AsyncIterator[bytes]


async def read_audio(
    org_id: str, call_id: str, offset: int, length: int, *, calls: CallStore, audio: AudioStore
) -> AudioRead:
    """A range of the call's recording.

    CallNotFoundError without the call, NoStoredAudioError when it keeps no audio,
    AudioRangeError when the range starts past the end. Nothing is read before the
    caller iterates `chunks`.
    """
    call = await calls.get(org_id, call_id)
    if call is None:
        raise CallNotFoundError(call_id)
    if call.audio is None:
        raise NoStoredAudioError(call_id, call.duplicate_of)
    start, count = audio_range(call.audio.size_bytes, offset, length)
    return AudioRead(call.audio, start, count, audio.read_range(call.audio.key, start, count))


@dataclass(frozen=True)
class CallSummary:
    """Exact counts per status and source, and the scan's score statistics."""

    by_status: dict[CallStatus, int]
    by_source: dict[UploadSource, int]
    scan: SummaryBuilder
    periods: list[tuple[dt.datetime, ScoreTally]]

    @property
    def total(self) -> int:
        """Every matching call (each has exactly one status)."""
        return sum(self.by_status.values())

    @property
    def truncated(self) -> bool:
        """Whether more calls matched than the scan read."""
        return self.scan.scanned < self.total


async def summarize_calls(
    query: CallQuery, bucket: TimeBucket | None, *, calls: CallStore, now: dt.datetime
) -> CallSummary:
    """Counts, histogram, per-agent and per-period tallies of the calls the query selects.

    TooManyPeriodsError when the series would be too long.
    """

    async def count_status(status: CallStatus) -> int:
        if query.statuses and status not in query.statuses:
            return 0
        return await calls.count(dataclasses.replace(query, statuses=frozenset({status})))

    async def count_source(source: UploadSource) -> int:
        if query.sources and source not in query.sources:
            return 0
        return await calls.count(dataclasses.replace(query, sources=frozenset({source})))

    statuses, sources = list(CallStatus), list(UploadSource)
    counts = await asyncio.gather(
        *(count_status(status) for status in statuses),
        *(count_source(source) for source in sources),
    )
    scan = SummaryBuilder(bucket=bucket)
    async for row in calls.summary_rows(query, SUMMARY_SCAN_LIMIT):
        scan.add(row)
    return CallSummary(
        by_status=dict(zip(statuses, counts[: len(statuses)], strict=True)),
        by_source=dict(zip(sources, counts[len(statuses) :], strict=True)),
        scan=scan,
        periods=scan.series(query.created_from, query.created_to, now),
    )
