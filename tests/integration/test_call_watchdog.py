"""The stuck-call watchdog against the real MongoDB-wire server and Kafka broker."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from callscope.v1 import events_pb2
from callscope_common.kafka import create_producer
from callscope_ingest.adapters.kafka_backlog import KafkaStageBacklog
from callscope_ingest.adapters.mongo import MongoCallStore
from callscope_ingest.dispatch import watch
from callscope_ingest.domain.calls import Call, UploadSource
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.domain.watchdog import WatchdogRules
from callscope_ingest.handlers import IngestPorts, RegisterCall

from tests.support.audio import render_noise
from tests.support.infra import Infra
from tests.support.ingest_ports import RecordingPublisher, upload

RULES = WatchdogRules(stale_after_s=600, stale_per_audio_s=0, max_redrives=1)


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    kafka = create_producer(infra.kafka_bootstrap_servers, "test-watchdog")
    await kafka.start()
    yield kafka
    await kafka.stop()


class FixedBacklog:
    """The stages' backlog, fixed."""

    def __init__(self, records: int) -> None:
        self.records = records

    async def queued_records(self) -> int:
        return self.records


async def stuck_call(
    ports: IngestPorts, calls: MongoCallStore, tmp_path: Path, status: CallStatus
) -> Call:
    """A new call moved to status an hour ago, never moved since."""
    org_id = uuid.uuid4().hex
    audio = render_noise(tmp_path / f"{org_id}.wav", 11.0, seed=uuid.uuid4().int % 2**31)
    command = RegisterCall(
        org_id=org_id,
        campaign_id=f"campaign-{org_id}",
        source=UploadSource.API,
        file_name="stuck.wav",
        metadata=CallMetadata(),
    )
    call = await upload(audio, command, ports)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert await calls.move_status(call.id, status, an_hour_ago)
    stored = await calls.get(org_id, call.id)
    assert stored is not None
    return stored


def uploads_of(recorder: RecordingPublisher, call_id: str) -> list[events_pb2.CallUploaded]:
    return [
        event
        for event in recorder.sent
        if isinstance(event, events_pb2.CallUploaded) and event.header.call_id == call_id
    ]


async def test_a_stuck_call_is_sent_again_with_its_own_event_then_failed_after_the_limit(
    ports: IngestPorts, calls: MongoCallStore, tmp_path: Path
) -> None:
    recorder = RecordingPublisher(ports.publisher)
    ports = dataclasses.replace(ports, publisher=recorder)
    call = await stuck_call(ports, calls, tmp_path, CallStatus.TRANSCRIBING)
    assert call.hand_over is not None
    idle = FixedBacklog(0)

    now = dt.datetime.now(dt.UTC)
    first = await watch(calls=calls, publisher=recorder, backlog=idle, rules=RULES, now=now)

    assert call.id in first.redriven
    sent = uploads_of(recorder, call.id)
    assert [event.header.event_id for event in sent] == [call.hand_over.event_id] * 2
    redriven = await calls.get(call.org_id, call.id)
    assert redriven is not None and redriven.hand_over is not None
    assert (redriven.status, redriven.hand_over.redrives) == (CallStatus.TRANSCRIBING, 1)
    again = await watch(calls=calls, publisher=recorder, backlog=idle, rules=RULES, now=now)
    assert call.id not in again.redriven + again.failed  # the re-drive restarted its clock

    later = now + dt.timedelta(seconds=601)
    last = await watch(calls=calls, publisher=recorder, backlog=idle, rules=RULES, now=later)

    assert call.id in last.failed
    failed = await calls.get(call.org_id, call.id)
    assert failed is not None and failed.failure is not None
    assert (failed.status, failed.failure.stage) == (CallStatus.FAILED, "TRANSCRIPTION")
    assert "no progress while transcribing" in failed.failure.reason
    assert len(uploads_of(recorder, call.id)) == 2


async def test_nothing_is_judged_while_the_stages_have_records_queued(
    ports: IngestPorts, calls: MongoCallStore, tmp_path: Path
) -> None:
    recorder = RecordingPublisher(ports.publisher)
    ports = dataclasses.replace(ports, publisher=recorder)
    call = await stuck_call(ports, calls, tmp_path, CallStatus.ANALYZING)
    now = dt.datetime.now(dt.UTC)

    report = await watch(
        calls=calls, publisher=recorder, backlog=FixedBacklog(5), rules=RULES, now=now
    )

    assert report.skipped_busy and not report.redriven and not report.failed
    unchanged = await calls.get(call.org_id, call.id)
    assert unchanged == call
    assert len(uploads_of(recorder, call.id)) == 1  # the upload's own hand-over only


async def test_the_backlog_is_what_the_stage_groups_have_not_committed(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = f"test-backlog-{uuid.uuid4().hex[:8]}"
    group = f"stage-{uuid.uuid4().hex[:8]}"
    for _ in range(5):
        await producer.send_and_wait(topic, b"record", key=b"k", partition=0)
    stage = AIOKafkaConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
    )
    await stage.start()
    try:
        stage.assign([TopicPartition(topic, 0)])
        await stage.commit({TopicPartition(topic, 0): 2})
    finally:
        await stage.stop()

    backlog = KafkaStageBacklog(infra.kafka_bootstrap_servers, [group, f"idle-{group}"])

    assert await backlog.queued_records() == 3
