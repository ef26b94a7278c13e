"""The Kafka consumer against a real broker: commit after handling, bounded retries, DLQ,
several partitions at once (max_in_flight), rebalances and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from callscope.v1 import common_pb2, events_pb2
from callscope_common import kafka as kafka_module
from callscope_common.events import encode, new_header
from callscope_common.kafka import (
    EventConsumer,
    PermanentEventError,
    RetryPolicy,
    Subscription,
    create_producer,
    ensure_topics,
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
async def consuming(consumer: EventConsumer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(consumer.run())
    try:
        yield task
    finally:
        task.cancel()
        # Cancelling is how a service stops its consumer (SIGTERM): it must end promptly.
        await asyncio.wait({task}, timeout=30)
        assert task.done(), "the consumer did not stop within 30 s of being cancelled"
        if not task.cancelled():
            task.result()  # the consumer's own error, if it failed


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


# --- several partitions at once (max_in_flight) ---------------------------------------------


class GatedHandler:
    """Handles `p<partition>-<n>` call ids, each held until the test opens its gate."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []  # (start | end | cancelled, call id), in order
        self.active: set[str] = set()
        self.ended: set[str] = set()
        self.most_active = 0
        self.gates: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def __call__(self, event: events_pb2.CallStatusChanged) -> None:
        call_id = event.header.call_id
        self.log.append(("start", call_id))
        self.active.add(call_id)
        self.most_active = max(self.most_active, len(self.active))
        try:
            await self.gates[call_id].wait()
        except asyncio.CancelledError:
            self.log.append(("cancelled", call_id))
            raise
        finally:
            self.active.discard(call_id)
        self.log.append(("end", call_id))
        self.ended.add(call_id)

    def partition_log(self, partition: int) -> list[tuple[str, str]]:
        """The log of one partition's records only."""
        return [entry for entry in self.log if entry[1].startswith(f"p{partition}-")]


async def until(condition: Callable[[], bool], describe: str) -> None:
    await wait_for(lambda: asyncio.sleep(0, condition()), timeout_s=30, describe=describe)


async def partitioned_topic(
    infra: Infra, producer: AIOKafkaProducer, records: dict[int, list[str]]
) -> str:
    """A fresh topic with one partition per key of records, each holding its call ids."""
    topic = f"test-parallel-{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=len(records))
    for partition, call_ids in records.items():
        for call_id in call_ids:
            record = encode(status_event(call_id))
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=record.headers, partition=partition
            )
    return topic


def parallel_consumer(
    infra: Infra,
    producer: AIOKafkaProducer,
    group: str,
    topic: str,
    handler: Callable[[events_pb2.CallStatusChanged], Awaitable[None]],
) -> EventConsumer:
    """A consumer that works on two partitions at once."""
    return EventConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group,
        subscriptions=[Subscription(events_pb2.CallStatusChanged, handler, topic_override=topic)],
        producer=producer,
        retry=FAST_RETRY,
        max_in_flight=2,
    )


async def committed_by_partition(infra: Infra, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition; partitions never committed are absent."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {
        tp.partition: meta.offset
        for tp, meta in offsets.items()
        if tp.topic == topic and meta.offset >= 0
    }


async def committed_become(infra: Infra, group: str, topic: str, expected: dict[int, int]) -> None:
    """Waits until the group's committed offsets are exactly the expected ones."""

    async def reached() -> bool:
        return await committed_by_partition(infra, group, topic) == expected

    await wait_for(reached, timeout_s=30, describe=f"committed offsets {expected}")


async def test_partitions_are_handled_at_once_each_in_order_and_never_beyond_max_in_flight(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    calls = {0: ["p0-1", "p0-2", "p0-3"], 1: ["p1-1", "p1-2"], 2: ["p2-1", "p2-2"]}
    everything = {call_id for call_ids in calls.values() for call_id in call_ids}
    topic = await partitioned_topic(infra, producer, calls)
    group = f"group-{uuid.uuid4().hex[:8]}"
    handler = GatedHandler()

    def as_busy_as_allowed() -> bool:
        """Two handlers run whenever two partitions still have work, one when only one has."""
        with_work = {call_id[:2] for call_id in everything - handler.ended}
        return len(handler.active) == min(2, len(with_work))

    async with consuming(parallel_consumer(infra, producer, group, topic, handler)):
        await until(as_busy_as_allowed, "two handlers to run at once")
        assert len({call_id[:2] for call_id in handler.active}) == 2
        # Finish one handler at a time; each time, the freed slot must be taken again.
        while handler.active:
            released = sorted(handler.active)[0]
            handler.gates[released].set()
            await until(
                lambda: released in handler.ended and as_busy_as_allowed(),  # noqa: B023
                f"{released} to end and the next record to start",
            )
        assert handler.ended == everything
        await committed_become(infra, group, topic, {0: 3, 1: 2, 2: 2})

    assert handler.most_active == 2
    for partition, call_ids in calls.items():
        in_order_one_at_a_time = [
            (step, call_id) for call_id in call_ids for step in ("start", "end")
        ]
        assert handler.partition_log(partition) == in_order_one_at_a_time


async def test_a_blocked_handler_leaves_its_record_uncommitted_and_cancelled_ones_are_redone(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = await partitioned_topic(infra, producer, {0: ["p0-1", "p0-2"], 1: ["p1-1"]})
    group = f"group-{uuid.uuid4().hex[:8]}"
    handler = GatedHandler()

    async with consuming(parallel_consumer(infra, producer, group, topic, handler)):
        await until(lambda: handler.active == {"p0-1", "p1-1"}, "both partitions to start")
        handler.gates["p0-1"].set()
        await until(lambda: handler.active == {"p0-2", "p1-1"}, "p0-2 to follow p0-1")
        await committed_become(infra, group, topic, {0: 1})
    # Cancelled (SIGTERM) mid-handler: both handlers were cancelled and nothing more committed.
    assert ("cancelled", "p0-2") in handler.log
    assert ("cancelled", "p1-1") in handler.log
    assert await committed_by_partition(infra, group, topic) == {0: 1}

    redone: list[str] = []

    async def quick(event: events_pb2.CallStatusChanged) -> None:
        redone.append(event.header.call_id)

    async with consuming(parallel_consumer(infra, producer, group, topic, quick)):
        await until(lambda: len(redone) == 2, "the next consumer to redo both records")
        await committed_become(infra, group, topic, {0: 2, 1: 1})
    assert sorted(redone) == ["p0-2", "p1-1"]


async def test_a_failing_record_goes_to_the_dlq_while_another_partition_keeps_flowing(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = await partitioned_topic(
        infra, producer, {0: ["fails", "after-failure"], 1: ["p1-1", "p1-2", "p1-3"]}
    )
    group = f"group-{uuid.uuid4().hex[:8]}"
    first_attempt_may_fail = asyncio.Event()
    attempts = 0
    handled: list[str] = []

    async def handler(event: events_pb2.CallStatusChanged) -> None:
        nonlocal attempts
        if event.header.call_id == "fails":
            attempts += 1
            await first_attempt_may_fail.wait()
            raise RuntimeError("database is down")
        handled.append(event.header.call_id)

    async with consuming(parallel_consumer(infra, producer, group, topic, handler)):
        await until(lambda: len(handled) == 3, "partition 1 to flow past the failing record")
        assert handled == ["p1-1", "p1-2", "p1-3"]  # nothing of partition 0 overtook it
        assert attempts == 1
        first_attempt_may_fail.set()
        await until(lambda: "after-failure" in handled, "the record after the failing one")
        await committed_become(infra, group, topic, {0: 2, 1: 3})

    assert attempts == FAST_RETRY.max_attempts
    [(_, headers)] = await read_all(infra, topic + ".dlq", expected=1)
    assert headers["dlq-error"].decode().startswith("RuntimeError: database is down")
    assert headers["dlq-source-partition"] == b"0"
    assert headers["dlq-attempts"] == str(FAST_RETRY.max_attempts).encode()


async def test_a_partition_that_moves_to_a_new_member_is_redone_there_and_the_rest_committed(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = await partitioned_topic(infra, producer, {0: ["p0-1"], 1: ["p1-1"]})
    group = f"group-{uuid.uuid4().hex[:8]}"
    first = GatedHandler()
    redone: list[str] = []

    async def quick(event: events_pb2.CallStatusChanged) -> None:
        redone.append(event.header.call_id)

    async with consuming(parallel_consumer(infra, producer, group, topic, first)) as running:
        await until(lambda: first.active == {"p0-1", "p1-1"}, "both partitions to start")
        # A second member joins: the group rebalances and gives it one of the partitions.
        async with consuming(parallel_consumer(infra, producer, group, topic, quick)):
            await until(lambda: len(redone) == 1, "the new member to redo the moved record")
            [moved] = redone
            [kept] = {"p0-1", "p1-1"} - {moved}
            # The first member stops working on what it no longer owns, not on the rest.
            await until(lambda: ("cancelled", moved) in first.log, f"{moved} to be cancelled")
            assert first.active == {kept}
            first.gates[kept].set()
            await committed_become(infra, group, topic, {0: 1, 1: 1})
            assert not running.done()
    assert redone == [moved]
    assert first.ended == {kept}


async def test_a_rebalance_that_gives_the_partitions_back_keeps_their_handlers_running(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = await partitioned_topic(infra, producer, {0: ["p0-1", "p0-2"], 1: ["p1-1"]})
    other_topic = await partitioned_topic(infra, producer, {0: ["other"]})
    group = f"group-{uuid.uuid4().hex[:8]}"
    handler = GatedHandler()
    others: list[str] = []

    async def other(event: events_pb2.CallStatusChanged) -> None:
        others.append(event.header.call_id)

    async with consuming(parallel_consumer(infra, producer, group, topic, handler)):
        await until(lambda: handler.active == {"p0-1", "p1-1"}, "both partitions to start")
        # A member for another topic joins the group: aiokafka revokes every partition,
        # then hands this member all of its own back, rewound to the committed offsets.
        async with consuming(parallel_consumer(infra, producer, group, other_topic, other)):
            await until(lambda: others == ["other"], "the group to have rebalanced")
            for call_id in ("p0-1", "p1-1", "p0-2"):
                handler.gates[call_id].set()
            await until(lambda: len(handler.ended) == 3, "every record to be handled")
            await committed_become(infra, group, topic, {0: 2, 1: 1})

    # Nothing was cancelled or handled twice, and partition 0 stayed in order.
    assert sorted(handler.log) == sorted(
        (step, call_id) for call_id in ("p0-1", "p0-2", "p1-1") for step in ("start", "end")
    )
    assert handler.partition_log(0) == [
        ("start", "p0-1"),
        ("end", "p0-1"),
        ("start", "p0-2"),
        ("end", "p0-2"),
    ]


@pytest.mark.parametrize("create_missing_topics", [True, False])
async def test_topics_are_created_only_where_the_consumer_is_told_to(
    infra: Infra,
    producer: AIOKafkaProducer,
    create_missing_topics: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The local broker auto-creates any topic a client asks about (even a DLQ whose depth
    # is sampled), so what is checked is whether the consumer asks for its topics.
    created: list[list[str]] = []

    async def recording_ensure_topics(bootstrap_servers: str, topics: list[str]) -> None:
        created.append(list(topics))

    monkeypatch.setattr(kafka_module, "ensure_topics", recording_ensure_topics)
    topic = f"test-topics-{uuid.uuid4().hex[:8]}"
    handled: list[str] = []

    async def handler(event: events_pb2.CallStatusChanged) -> None:
        handled.append(event.header.call_id)

    consumer = EventConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=f"group-{uuid.uuid4().hex[:8]}",
        subscriptions=[Subscription(events_pb2.CallStatusChanged, handler, topic_override=topic)],
        producer=producer,
        create_missing_topics=create_missing_topics,
    )
    async with consuming(consumer):
        await send(producer, topic, status_event("first"))

        async def first_handled() -> bool:
            return handled == ["first"]

        await wait_for(first_handled, timeout_s=60, describe="the event handled")
    assert created == ([[topic]] if create_missing_topics else [])
