"""A redelivered event changes nothing: one transcript, one analysis, the same final status."""

from __future__ import annotations

from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from callscope.v1 import events_pb2

from tests.support.infra import Infra
from tests.support.polling import wait_for
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


async def original_record(infra: Infra, topic: str, call_id: str) -> Any:
    """The record a stage produced for this call, read from the start of the topic."""
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    try:

        async def find() -> Any:
            batch = await reader.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    if record.key == call_id.encode():
                        return record
            return None

        return await wait_for(find, timeout_s=30, describe=f"{topic} record of {call_id}")
    finally:
        await reader.stop()


async def group_has_passed(
    infra: Infra, group: str, partition: TopicPartition, offset: int
) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=[partition])
    finally:
        await admin.close()
    committed = offsets.get(partition)
    return committed is not None and committed.offset > offset


async def test_redelivered_upload_event_creates_no_second_version(
    infra: Infra,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    uploaded: dict[str, dict[str, Any]],
) -> None:
    call = uploaded["compliant"]
    original = await original_record(infra, "calls.uploaded", call["id"])
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            original.topic, original.value, key=original.key, headers=list(original.headers)
        )
    finally:
        await producer.stop()
    partition = TopicPartition(sent.topic, sent.partition)
    group = f"transcription-{services.database}"
    await wait_for(
        lambda: group_has_passed(infra, group, partition, sent.offset),
        timeout_s=120,
        describe="transcription to consume the redelivered event",
    )
    transcribed = await original_record(infra, "calls.transcribed", call["id"])
    analysed_group = f"analysis-{services.database}"
    # Whatever transcription re-announced has been consumed by analysis too.
    reader_end = TopicPartition("calls.transcribed", transcribed.partition)
    end_probe = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await end_probe.start()
    try:
        end = (await end_probe.end_offsets([reader_end]))[reader_end]
    finally:
        await end_probe.stop()
    await wait_for(
        lambda: group_has_passed(infra, analysed_group, reader_end, end - 1),
        timeout_s=120,
        describe="analysis to consume everything transcription announced",
    )
    assert await stores.count("transcripts", {"call_id": call["id"]}) == 1
    assert await stores.count("analyses", {"call_id": call["id"]}) == 1
    again = (
        await api.get(f"/api/v1/calls/{call['id']}", headers={"X-API-Key": services.api_key})
    ).json()
    assert again["status"] == "COMPLETED"
    assert again["score"] == call["score"]
    event = events_pb2.CallUploaded()
    event.ParseFromString(original.value)
    assert event.header.call_id == call["id"]
