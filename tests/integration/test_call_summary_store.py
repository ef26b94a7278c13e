"""Summaries of calls and ranged audio reads on the real MongoDB-wire (FerretDB) and S3 servers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import uuid
from pathlib import Path

import pytest
from callscope_common.mongo import Document
from callscope_common.storage import S3ObjectStore
from callscope_ingest import read_models
from callscope_ingest.adapters.mongo import MongoCallStore
from callscope_ingest.domain.audio_range import AudioRangeError, NoStoredAudioError
from callscope_ingest.domain.call_queries import CallQuery, FlagFilter
from callscope_ingest.domain.call_summary import TimeBucket, TooManyPeriodsError
from callscope_ingest.domain.calls import (
    AgentLink,
    AgentLinkMethod,
    Call,
    CallResult,
    StoredAudio,
    UploadSource,
)
from callscope_ingest.domain.errors import CallNotFoundError
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from pymongo.asynchronous.database import AsyncDatabase

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
ANA = AgentLink("agent-ana", "AN001", "Ana", AgentLinkMethod.METADATA)
BEN = AgentLink("agent-ben", "BE002", "Ben", AgentLinkMethod.MANUAL)


def _call(
    org_id: str,
    *,
    day: int,
    campaign_id: str = "camp-1",
    status: CallStatus = CallStatus.COMPLETED,
    source: UploadSource = UploadSource.API,
    score: float | None = None,
    flagged: bool = False,
    agent: AgentLink | None = None,
) -> Call:
    created = dt.datetime(2026, 3, day, 10, 0, tzinfo=dt.UTC)
    return Call(
        id=uuid.uuid4().hex,
        org_id=org_id,
        campaign_id=campaign_id,
        source=source,
        file_name="call.wav",
        metadata=CallMetadata(),
        audio=None,
        duration_s=30.0,
        channels=2,
        status=status,
        created_at=created,
        updated_at=created,
        result=CallResult(score, flagged, ("low",) if flagged else (), 1, 1)
        if score is not None
        else None,
        agent=agent,
    )


@pytest.fixture
async def seeded(calls: MongoCallStore) -> tuple[str, list[Call]]:
    """Nine calls of one new organisation over three weeks, plus one of another campaign."""
    org_id = uuid.uuid4().hex
    made = [
        _call(org_id, day=2, score=95.0, agent=ANA),
        _call(org_id, day=2, score=100.0, agent=ANA, source=UploadSource.UI),
        _call(org_id, day=3, score=45.0, flagged=True, agent=ANA),
        _call(org_id, day=9, score=72.5, flagged=True, agent=BEN, source=UploadSource.SFTP),
        _call(org_id, day=10, score=0.0, flagged=True),
        _call(org_id, day=10, status=CallStatus.FAILED, agent=BEN),
        _call(org_id, day=16, status=CallStatus.PENDING, source=UploadSource.BULK),
        _call(org_id, day=17, status=CallStatus.DUPLICATE),
        _call(org_id, day=17, status=CallStatus.TRANSCRIBING, agent=ANA),
        _call(org_id, day=17, score=10.0, campaign_id="camp-2", agent=ANA),
    ]
    for call in made:
        await calls.insert(call)
    return org_id, made


async def test_counts_histogram_agents_and_flags_of_a_campaign(
    calls: MongoCallStore, seeded: tuple[str, list[Call]]
) -> None:
    org_id, _ = seeded
    summary = await read_models.summarize_calls(
        CallQuery(org_id=org_id, campaign_id="camp-1"), None, calls=calls, now=NOW
    )
    assert summary.total == 9
    assert summary.by_status == {
        CallStatus.PENDING: 1,
        CallStatus.TRANSCRIBING: 1,
        CallStatus.ANALYZING: 0,
        CallStatus.COMPLETED: 5,
        CallStatus.FAILED: 1,
        CallStatus.DUPLICATE: 1,
    }
    assert summary.by_source == {
        UploadSource.UI: 1,
        UploadSource.API: 6,
        UploadSource.BULK: 1,
        UploadSource.SFTP: 1,
    }
    histogram = [count for *_, count in summary.scan.histogram_buckets()]
    assert histogram == [1, 0, 0, 0, 1, 0, 0, 1, 0, 2]
    overall = summary.scan.overall
    assert (overall.calls, overall.scored_calls, overall.flagged) == (9, 5, 3)
    assert overall.flagged_unreviewed == 3
    assert overall.average_score == pytest.approx((95 + 100 + 45 + 72.5 + 0) / 5)
    ana, ben = summary.scan.agent_tallies()
    assert (ana.agent.agent_id, ana.tally.calls, ana.tally.scored_calls) == ("agent-ana", 4, 3)
    assert ana.tally.average_score == pytest.approx(80.0)
    assert (ana.agent.code, ana.agent.name) == ("AN001", "Ana")
    assert (ben.agent.agent_id, ben.tally.calls, ben.tally.flagged) == ("agent-ben", 2, 1)
    assert summary.scan.scanned == 9 and not summary.truncated
    assert summary.periods == []


async def test_the_summary_honours_the_list_filters(
    calls: MongoCallStore, seeded: tuple[str, list[Call]]
) -> None:
    org_id, _ = seeded
    whole_org = await read_models.summarize_calls(
        CallQuery(org_id=org_id), None, calls=calls, now=NOW
    )
    assert whole_org.total == 10
    ana_only = await read_models.summarize_calls(
        CallQuery(org_id=org_id, agent_id="agent-ana"), None, calls=calls, now=NOW
    )
    assert ana_only.total == 5
    assert [entry.agent.agent_id for entry in ana_only.scan.agent_tallies()] == ["agent-ana"]
    ranged = await read_models.summarize_calls(
        CallQuery(
            org_id=org_id,
            campaign_id="camp-1",
            created_from=dt.datetime(2026, 3, 9, tzinfo=dt.UTC),
            created_to=dt.datetime(2026, 3, 16, tzinfo=dt.UTC),
        ),
        None,
        calls=calls,
        now=NOW,
    )
    assert ranged.total == 3
    assert ranged.by_status[CallStatus.FAILED] == 1
    only_flagged_completed = await read_models.summarize_calls(
        CallQuery(
            org_id=org_id,
            statuses=frozenset({CallStatus.COMPLETED}),
            flagged=FlagFilter.FLAGGED,
        ),
        None,
        calls=calls,
        now=NOW,
    )
    assert only_flagged_completed.total == 3
    assert only_flagged_completed.by_status[CallStatus.FAILED] == 0
    other_org = await read_models.summarize_calls(
        CallQuery(org_id=uuid.uuid4().hex), TimeBucket.DAY, calls=calls, now=NOW
    )
    assert other_org.total == 0 and other_org.scan.scanned == 0 and other_org.periods == []


async def test_a_weekly_series_fills_the_range_oldest_first(
    calls: MongoCallStore, seeded: tuple[str, list[Call]]
) -> None:
    org_id, _ = seeded
    summary = await read_models.summarize_calls(
        CallQuery(
            org_id=org_id,
            agent_id="agent-ana",
            created_from=dt.datetime(2026, 2, 23, tzinfo=dt.UTC),
            created_to=dt.datetime(2026, 3, 23, tzinfo=dt.UTC),
        ),
        TimeBucket.WEEK,
        calls=calls,
        now=NOW,
    )
    weeks = [
        (start.date().isoformat(), tally.calls, tally.scored_calls)
        for start, tally in summary.periods
    ]
    assert weeks == [
        ("2026-02-23", 0, 0),
        ("2026-03-02", 3, 3),
        ("2026-03-09", 0, 0),
        ("2026-03-16", 2, 1),
    ]
    first_week = summary.periods[1][1]
    assert first_week.flagged == 1
    assert first_week.average_score == pytest.approx((95 + 100 + 45) / 3)
    with pytest.raises(TooManyPeriodsError):
        await read_models.summarize_calls(
            CallQuery(org_id=org_id, created_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
            TimeBucket.DAY,
            calls=calls,
            now=NOW,
        )


async def test_a_marked_review_is_read_from_the_stored_document(
    calls: MongoCallStore, database: AsyncDatabase[Document]
) -> None:
    org_id = uuid.uuid4().hex
    reviewed = _call(org_id, day=5, score=40.0, flagged=True)
    waiting = _call(org_id, day=5, score=30.0, flagged=True)
    for call in (reviewed, waiting):
        await calls.insert(call)
    await database["calls"].update_one(
        {"_id": reviewed.id}, {"$set": {"review": {"reviewed_by": "u1", "reviewed_at": NOW}}}
    )
    summary = await read_models.summarize_calls(
        CallQuery(org_id=org_id), None, calls=calls, now=NOW
    )
    assert (summary.scan.overall.flagged, summary.scan.overall.flagged_unreviewed) == (2, 1)


async def test_audio_is_read_in_ranges_from_the_real_object_store(
    calls: MongoCallStore, object_store: S3ObjectStore, tmp_path: Path
) -> None:
    org_id = uuid.uuid4().hex
    payload = os.urandom(700_000)  # several read chunks
    path = tmp_path / "audio.bin"
    path.write_bytes(payload)
    key = f"{org_id}/camp-1/x/audio.wav"
    await object_store.upload_file(path, key, "audio/wav")
    call = dataclasses.replace(
        _call(org_id, day=1),
        audio=StoredAudio(object_store.bucket, key, len(payload), "sha", "audio/wav"),
    )
    await calls.insert(call)

    async def read(offset: int, length: int) -> bytes:
        got = await read_models.read_audio(
            org_id, call.id, offset, length, calls=calls, audio=object_store
        )
        assert got.audio.content_type == "audio/wav"
        data = b"".join([chunk async for chunk in got.chunks])
        assert len(data) == got.length
        return data

    assert await read(0, 0) == payload
    assert await read(0, 100) == payload[:100]
    assert await read(300_000, 1234) == payload[300_000:301_234]
    assert await read(len(payload) - 50, 0) == payload[-50:]
    assert await read(len(payload) - 10, 500) == payload[-10:]
    with pytest.raises(AudioRangeError):
        await read_models.read_audio(
            org_id, call.id, len(payload), 0, calls=calls, audio=object_store
        )
    with pytest.raises(CallNotFoundError):
        await read_models.read_audio(
            uuid.uuid4().hex, call.id, 0, 0, calls=calls, audio=object_store
        )
    duplicate = dataclasses.replace(
        _call(org_id, day=1, status=CallStatus.DUPLICATE), duplicate_of=call.id
    )
    await calls.insert(duplicate)
    with pytest.raises(NoStoredAudioError, match=call.id):
        await read_models.read_audio(org_id, duplicate.id, 0, 0, calls=calls, audio=object_store)
