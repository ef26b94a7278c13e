"""The Kafka consumer against a real broker: commit after handling, bounded retries, DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from callscope.v1 import common_pb2, events_pb2
from callscope_common.events import encode, new_header
from callscope_common.kafka import (
    EventConsumer,
    PermanentEventError,
    RetryPolicy,
    Subscription,
    create_producer,
)

from tests.support.infra import Infra
from tests.support.polling import wait_for

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.05, max_backoff_s=0.1)


def status_event(call_id: str) -> events_pb2.CallStatusChanged:
    return events_pb2.CallStatusChanged(
        header=new_header(call_id, "org", "campaign"),
        status=common_pb2.CallStatus.CALL_STATUS_TRANSCRIBING,
    )


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    kafka = create_producer(infra.kafka_bootstrap_servers, "test")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def send(producer: AIOKafkaProducer, topic: str, event: events_pb2.CallStatusChanged) -> None:
    record = encode(event)
    await producer.send_and_wait(topic, record.value, key=record.key, headers=record.headers)


@contextlib.asynccontextmanager
async def consuming(consumer: EventConsumer) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def read_all(
    infra: Infra, topic: str, expected: int
) -> list[tuple[bytes | None, dict[str, bytes]]]:
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=f"reader-{uuid.uuid4().hex}",
    )
    await reader.start()
    records: list[tuple[bytes | None, dict[str, bytes]]] = []
    try:

        async def enough() -> bool:
            batch = await reader.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend((r.value, dict(r.headers)) for r in partition_records)
            return len(records) >= expected

        await wait_for(enough, timeout_s=30, describe=f"{expected} records on {topic}")
    finally:
        await reader.stop()
    return records


async def committed_offset(consumer_group: str, topic: str, infra: Infra) -> int:
    """The sum of the group's committed offsets on the topic's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(consumer_group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


async def test_handled_events_are_committed_and_poison_goes_to_the_dlq(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = f"test-consumer-{uuid.uuid4().hex[:8]}"
    group = f"group-{uuid.uuid4().hex[:8]}"
    handled: list[str] = []
    attempts: dict[str, int] = {}

    async def handler(event: events_pb2.CallStatusChanged) -> None:
        call_id = event.header.call_id
        attempts[call_id] = attempts.get(call_id, 0) + 1
        if call_id == "always-fails":
            raise RuntimeError("database is down")
        if call_id == "unknown-call":
            raise PermanentEventError("no call with id unknown-call")
        if call_id == "flaky" and attempts[call_id] < 2:
            raise RuntimeError("transient")
        handled.append(call_id)

    consumer = EventConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group,
        subscriptions=[Subscription(events_pb2.CallStatusChanged, handler, topic_override=topic)],
        producer=producer,
        retry=FAST_RETRY,
    )
    # Everything on one key so the records share a partition and keep their order.
    for call_id in ("first", "always-fails", "unknown-call", "flaky", "last"):
        event = status_event(call_id)
        record = encode(event)
        await producer.send_and_wait(topic, record.value, key=b"k", headers=record.headers)
    await producer.send_and_wait(topic, b"\xff\x00not protobuf", key=b"k")
    after = encode(status_event("after-poison"))
    await producer.send_and_wait(topic, after.value, key=b"k", headers=after.headers)

    async with consuming(consumer):
        await wait_for(
            lambda: asyncio.sleep(0, "after-poison" in handled),
            timeout_s=60,
            describe="the record after the poison message to be handled",
        )

    assert handled == ["first", "flaky", "last", "after-poison"]
    assert attempts["always-fails"] == FAST_RETRY.max_attempts
    assert attempts["unknown-call"] == 1
    dead = await read_all(infra, topic + ".dlq", expected=3)
    errors = sorted(headers["dlq-error"].decode() for _, headers in dead)
    assert errors[0].startswith("RuntimeError: database is down")
    assert errors[1].startswith("rejected: no call with id unknown-call")
    assert errors[2].startswith("undecodable")
    assert await committed_offset(group, topic, infra) == 7


async def test_a_record_whose_handler_crashes_mid_way_is_redelivered(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = f"test-redelivery-{uuid.uuid4().hex[:8]}"
    group = f"group-{uuid.uuid4().hex[:8]}"
    started = asyncio.Event()
    delivered: list[str] = []

    async def slow_handler(event: events_pb2.CallStatusChanged) -> None:
        delivered.append(event.header.event_id)
        started.set()
        await asyncio.sleep(3600)

    async def quick_handler(event: events_pb2.CallStatusChanged) -> None:
        delivered.append(event.header.event_id)

    await send(producer, topic, status_event("call-1"))
    first = EventConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group,
        subscriptions=[
            Subscription(events_pb2.CallStatusChanged, slow_handler, topic_override=topic)
        ],
        producer=producer,
    )
    async with consuming(first):
        await asyncio.wait_for(started.wait(), 60)
    # The process "died" mid-handler: nothing was committed, so a new consumer gets it again.
    second = EventConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group,
        subscriptions=[
            Subscription(events_pb2.CallStatusChanged, quick_handler, topic_override=topic)
        ],
        producer=producer,
    )
    async with consuming(second):
        await wait_for(
            lambda: asyncio.sleep(0, len(delivered) == 2), timeout_s=60, describe="redelivery"
        )
    assert delivered[0] == delivered[1]
