"""A consumer's metrics against a real broker: records by outcome, dead letters by reason,
the DLQ's depth, and the lag of the partitions it holds."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
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
from tests.support.scraped_metrics import scrape_this_process

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.05, max_backoff_s=0.1)


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    kafka = create_producer(infra.kafka_bootstrap_servers, "test-metrics")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def _send(producer: AIOKafkaProducer, topic: str, call_id: str) -> None:
    record = encode(
        events_pb2.CallStatusChanged(
            header=new_header(call_id, "org", "campaign"),
            status=common_pb2.CallStatus.CALL_STATUS_TRANSCRIBING,
        )
    )
    await producer.send_and_wait(topic, record.value, key=b"k", headers=record.headers)


@contextlib.asynccontextmanager
async def _consuming(consumer: EventConsumer) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _records(topic: str, outcome: str) -> float:
    return scrape_this_process().value(
        "callscope_consumer_records_total", topic=topic, outcome=outcome
    )


def _lag(group: str, topic: str) -> float | None:
    """The lag this process reports for the group's partitions of topic; None if none."""
    scrape = scrape_this_process()
    if not scrape.has("callscope_consumer_lag", group=group, topic=topic):
        return None
    return scrape.value("callscope_consumer_lag", group=group, topic=topic)


async def test_records_dead_letters_dlq_depth_and_lag_are_reported(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = f"test-metrics-{uuid.uuid4().hex[:8]}"
    group = f"group-{uuid.uuid4().hex[:8]}"
    attempts: dict[str, int] = {}
    handled: list[str] = []
    release = asyncio.Event()

    async def handler(event: events_pb2.CallStatusChanged) -> None:
        call_id = event.header.call_id
        attempts[call_id] = attempts.get(call_id, 0) + 1
        if call_id == "always-fails":
            raise RuntimeError("database is down")
        if call_id == "unknown-call":
            raise PermanentEventError("no call with id unknown-call")
        if call_id == "flaky" and attempts[call_id] < 2:
            raise RuntimeError("transient")
        if call_id == "held":
            await release.wait()
        handled.append(call_id)

    consumer = EventConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group,
        subscriptions=[Subscription(events_pb2.CallStatusChanged, handler, topic_override=topic)],
        producer=producer,
        retry=FAST_RETRY,
    )
    # One key: one partition, in this order; "held" blocks it until released.
    for call_id in ("first", "always-fails", "unknown-call", "flaky"):
        await _send(producer, topic, call_id)
    await producer.send_and_wait(topic, b"\xff\x00not protobuf", key=b"k")
    for call_id in ("held", "after-held"):
        await _send(producer, topic, call_id)

    async with _consuming(consumer):
        # "held" and "after-held" are not committed while "held" runs: the lag shows them.
        await wait_for(
            lambda: asyncio.sleep(0, _lag(group, topic) == 2),
            timeout_s=60,
            describe="a lag of 2 while a record is held",
        )
        release.set()
        await wait_for(
            lambda: asyncio.sleep(0, "after-held" in handled),
            timeout_s=60,
            describe="every record handled",
        )
        await wait_for(
            lambda: asyncio.sleep(0, _lag(group, topic) == 0),
            timeout_s=60,
            describe="the lag back to 0",
        )
        await wait_for(
            lambda: asyncio.sleep(
                0, scrape_this_process().value("callscope_dlq_depth", topic=topic) == 3
            ),
            timeout_s=60,
            describe="the DLQ depth to show its 3 records",
        )

    assert handled == ["first", "flaky", "held", "after-held"]
    assert _records(topic, "handled") == 4
    # flaky once, always-fails on its first two of three attempts.
    assert _records(topic, "retried") == 3
    assert _records(topic, "dead_lettered") == 3
    scrape = scrape_this_process()
    for reason in ("undecodable", "rejected", "retries_exhausted"):
        assert scrape.value("callscope_dlq_records_total", topic=topic, reason=reason) == 1
    # A stopped consumer no longer reports lag for partitions it held.
    assert _lag(group, topic) is None
