"""Protobuf mapping of the screens' read models: ReadAudio and SummarizeCalls."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, NoReturn, TypeAlias

import grpc
from callscope.v1 import common_pb2, ingest_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_ingest import read_models
from callscope_ingest.domain.audio_range import AudioRangeError, NoStoredAudioError
from callscope_ingest.domain.call_queries import InvalidCursorError
from callscope_ingest.domain.call_summary import ScoreTally, TimeBucket, TooManyPeriodsError
from callscope_ingest.domain.errors import CallNotFoundError
from callscope_ingest.entrypoints.call_rpc import call_query
from callscope_ingest.ports import AudioStore, CallStore

_AudioContext: TypeAlias = grpc.aio.ServicerContext[
    ingest_pb2.ReadAudioRequest, ingest_pb2.AudioChunk
]


async def read_audio(
    request: ingest_pb2.ReadAudioRequest,
    context: _AudioContext,
    *,
    calls: CallStore,
    audio: AudioStore,
) -> AsyncIterator[ingest_pb2.AudioChunk]:
    """`info`, then the range's bytes; the first chunk is read before `info` is sent, so a
    recording missing from the store is NOT_FOUND rather than a stream cut short."""
    try:
        read = await read_models.read_audio(
            request.org_id,
            request.call_id,
            request.offset,
            request.length,
            calls=calls,
            audio=audio,
        )
        chunks = aiter(read.chunks)
        first = await anext(chunks, b"")
    except CallNotFoundError:
        await _abort(context, grpc.StatusCode.NOT_FOUND, f"no call with id {request.call_id}")
    except NoStoredAudioError as error:
        await _abort(context, grpc.StatusCode.NOT_FOUND, str(error))
    except AudioRangeError as error:
        await _abort(context, grpc.StatusCode.OUT_OF_RANGE, str(error))
    yield ingest_pb2.AudioChunk(
        info=ingest_pb2.AudioInfo(
            content_type=read.audio.content_type,
            total_size_bytes=read.audio.size_bytes,
            offset=read.offset,
            length=read.length,
        )
    )
    if first:
        yield ingest_pb2.AudioChunk(data=first)
    async for chunk in chunks:
        yield ingest_pb2.AudioChunk(data=chunk)


async def summarize_calls(
    request: ingest_pb2.SummarizeCallsRequest,
    context: grpc.aio.ServicerContext[ingest_pb2.SummarizeCallsRequest, ingest_pb2.CallSummary],
    *,
    calls: CallStore,
) -> ingest_pb2.CallSummary:
    """The summary of the calls the request's ListCalls filter selects."""
    unpaged = ingest_pb2.ListCallsRequest()
    unpaged.CopyFrom(request.filter)
    unpaged.ClearField("page_size")
    unpaged.ClearField("page_token")
    try:
        if not unpaged.org_id:
            raise ValueError("filter.org_id is required")
        query = call_query(unpaged)
        summary = await read_models.summarize_calls(
            query, _bucket(request.bucket), calls=calls, now=dt.datetime.now(dt.UTC)
        )
    except (TooManyPeriodsError, InvalidCursorError, ValueError) as error:
        await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
    return summary_to_proto(summary)


def summary_to_proto(summary: read_models.CallSummary) -> ingest_pb2.CallSummary:
    """The protobuf shape of a summary."""
    return ingest_pb2.CallSummary(
        by_status=[
            ingest_pb2.StatusCount(
                status=common_pb2.CallStatus.Value(f"CALL_STATUS_{status.value}"), calls=count
            )
            for status, count in summary.by_status.items()
        ],
        by_source=[
            ingest_pb2.SourceCount(
                source=common_pb2.UploadSource.Value(f"UPLOAD_SOURCE_{source.value}"), calls=count
            )
            for source, count in summary.by_source.items()
        ],
        total_calls=summary.total,
        score_histogram=[
            ingest_pb2.ScoreBucket(lower=lower, upper=upper, calls=count)
            for lower, upper, count in summary.scan.histogram_buckets()
        ],
        overall=_stats(summary.scan.overall),
        agents=[
            ingest_pb2.AgentSummary(
                agent_id=entry.agent.agent_id,
                code=entry.agent.code,
                name=entry.agent.name,
                stats=_stats(entry.tally),
            )
            for entry in summary.scan.agent_tallies()
        ],
        periods=[
            ingest_pb2.PeriodSummary(start=_timestamp(start), stats=_stats(tally))
            for start, tally in summary.periods
        ],
        scanned_calls=summary.scan.scanned,
        truncated=summary.truncated,
    )


def _stats(tally: ScoreTally) -> ingest_pb2.ScoreStats:
    return ingest_pb2.ScoreStats(
        calls=tally.calls,
        scored_calls=tally.scored_calls,
        average_score=tally.average_score,
        flagged=tally.flagged,
        flagged_unreviewed=tally.flagged_unreviewed,
    )


def _bucket(value: ingest_pb2.TimeBucket.ValueType) -> TimeBucket | None:
    if value == ingest_pb2.TimeBucket.TIME_BUCKET_UNSPECIFIED:
        return None
    return TimeBucket(ingest_pb2.TimeBucket.Name(value).removeprefix("TIME_BUCKET_"))


def _timestamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], code: grpc.StatusCode, details: str
) -> NoReturn:
    await context.abort(code, details)
    raise AssertionError("unreachable: abort raises")
