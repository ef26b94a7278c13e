"""Dead letters against a real broker: the poison cases land in `<topic>.dlq`, and
`callscope-dlq` (module and console script) lists and replays them exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from callscope.v1 import common_pb2, events_pb2
from callscope_common.dlq import REPLAYED_FROM_HEADER, list_dead_letters, replay_dead_letters
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
CLI = Path(sys.executable).with_name("callscope-dlq")
Handler = Callable[[events_pb2.CallStatusChanged], Awaitable[None]]


@dataclass(frozen=True)
class Sent:
    """A record as the test produced it."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    kafka = create_producer(infra.kafka_bootstrap_servers, "test-dlq")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def new_topic(infra: Infra, partitions: int = 3) -> str:
    topic = f"test-dlq-{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=partitions)
    return topic


async def send_event(
    producer: AIOKafkaProducer, topic: str, call_id: str, extra_headers: list[tuple[str, bytes]]
) -> Sent:
    """Produces a status event of the call, with headers beyond the contract's."""
    record = encode(
        events_pb2.CallStatusChanged(
            header=new_header(call_id, "org", "campaign"),
            status=common_pb2.CallStatus.CALL_STATUS_TRANSCRIBING,
        )
    )
    sent = Sent(record.key, record.value, [*record.headers, *extra_headers])
    await producer.send_and_wait(topic, sent.value, key=sent.key, headers=sent.headers)
    return sent


async def read_records(infra: Infra, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Every record the topic holds now, partition by partition in offset order."""
    reader = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await reader.start()
    try:
        partitions = [
            TopicPartition(topic, number)
            for number in sorted(await partition_numbers(infra, topic))
        ]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        for partition in partitions:
            while await reader.position(partition) < ends[partition]:
                batch = await reader.getmany(partition, timeout_ms=1000)
                records.extend(batch.get(partition, []))
        return records
    finally:
        await reader.stop()


async def partition_numbers(infra: Infra, topic: str) -> set[int]:
    reader = AIOKafkaConsumer(topic, bootstrap_servers=infra.kafka_bootstrap_servers)
    await reader.start()
    try:
        return reader.partitions_for_topic(topic) or set()
    finally:
        await reader.stop()


def as_sent(record: ConsumerRecord[Any, Any]) -> Sent:
    """A record read back, without the replay's own header, comparable with what was sent."""
    headers = [(name, value) for name, value in record.headers if name != REPLAYED_FROM_HEADER]
    return Sent(record.key, record.value, headers)


def replayed_records(records: list[ConsumerRecord[Any, Any]]) -> list[ConsumerRecord[Any, Any]]:
    return [r for r in records if REPLAYED_FROM_HEADER in dict(r.headers)]


@contextlib.asynccontextmanager
async def consuming(
    infra: Infra, producer: AIOKafkaProducer, topic: str, handler: Handler
) -> AsyncIterator[None]:
    """Runs an EventConsumer (fresh group) on the topic for the duration of the block."""
    consumer = EventConsumer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=f"group-{uuid.uuid4().hex[:8]}",
        subscriptions=[Subscription(events_pb2.CallStatusChanged, handler, topic_override=topic)],
        producer=producer,
        retry=FAST_RETRY,
    )
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait({task}, timeout=30)
        assert task.done(), "the consumer did not stop within 30 s of being cancelled"
        if not task.cancelled():
            task.result()


async def dead_letter(
    infra: Infra, producer: AIOKafkaProducer, topic: str, sent: list[Sent], failing: set[bytes]
) -> None:
    """Consumes what was sent with a handler that rejects the failing keys, until all is done."""
    handled: list[bytes] = []

    async def handler(event: events_pb2.CallStatusChanged) -> None:
        if event.header.call_id.encode() in failing:
            raise PermanentEventError(f"no call with id {event.header.call_id}")
        handled.append(event.header.call_id.encode())

    expected_dead = sum(1 for record in sent if record.key in failing)
    async with consuming(infra, producer, topic, handler):

        async def done() -> bool:
            dead = await read_records(infra, topic + ".dlq")
            return len(dead) == expected_dead and len(handled) == len(sent) - expected_dead

        await wait_for(done, timeout_s=60, describe="every record handled or dead-lettered")


async def run_cli(*args: str, bootstrap_servers: str) -> tuple[int, str, str]:
    """Runs the `callscope-dlq` console script; returns its exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        "--bootstrap-servers",
        bootstrap_servers,
        "--timeout",
        "20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


# --- the poison cases -----------------------------------------------------------------------


async def test_an_unknown_schema_version_is_dead_lettered_at_once_and_the_partition_flows(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    # Undecodable bytes and a call id that does not exist: test_event_consumer.py.
    topic = await new_topic(infra, partitions=1)
    future = encode(
        events_pb2.CallStatusChanged(
            header=new_header("from-the-future", "org", "campaign"),
            status=common_pb2.CallStatus.CALL_STATUS_ANALYZING,
        )
    )
    headers = [(n, v) for n, v in future.headers if n != "schema-version"]
    await producer.send_and_wait(
        topic, future.value, key=future.key, headers=[*headers, ("schema-version", b"2")]
    )
    await send_event(producer, topic, "next-call", [])
    handled: list[str] = []

    async def handler(event: events_pb2.CallStatusChanged) -> None:
        handled.append(event.header.call_id)

    async with consuming(infra, producer, topic, handler):
        await wait_for(
            lambda: asyncio.sleep(0, handled == ["next-call"]),
            timeout_s=60,
            describe="the record after the unknown version to be handled",
        )

    [letter] = await list_dead_letters(infra.kafka_bootstrap_servers, topic)
    assert letter.key == b"from-the-future"
    assert letter.value == future.value
    assert letter.error == "undecodable: unknown schema version '2'"
    assert letter.attempts == 0
    assert letter.source_offset == 0
    assert handled == ["next-call"]


# --- replay -----------------------------------------------------------------------------------


async def test_a_replay_republishes_each_dead_letter_as_it_was_and_a_second_replay_sends_nothing(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = await new_topic(infra)
    trace = [("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    sent = [
        await send_event(producer, topic, call_id, trace)
        for call_id in ("ok-1", "bad-1", "ok-2", "bad-2", "bad-1")
    ]
    await dead_letter(infra, producer, topic, sent, failing={b"bad-1", b"bad-2"})
    dlq = await read_records(infra, topic + ".dlq")

    summary = await replay_dead_letters(infra.kafka_bootstrap_servers, topic)

    assert (len(summary.replayed), len(summary.skipped), summary.remaining) == (3, 0, 0)
    after = await read_records(infra, topic)
    assert len(after) == len(sent) + 3
    replayed = replayed_records(after)
    dead_sent = [record for record in sent if record.key in {b"bad-1", b"bad-2"}]
    assert sorted(map(as_sent, replayed), key=repr) == sorted(dead_sent, key=repr)
    # Each one names the DLQ record it came from; no other dlq-* header survives.
    assert sorted(dict(r.headers)[REPLAYED_FROM_HEADER] for r in replayed) == sorted(
        f"{topic}.dlq/{r.partition}/{r.offset}".encode() for r in dlq
    )
    assert all(
        not name.startswith("dlq-") or name == REPLAYED_FROM_HEADER
        for r in replayed
        for name, _ in r.headers
    )
    # One call's records went back in their original order.
    bad_1 = [as_sent(r) for r in replayed if r.key == b"bad-1"]
    assert bad_1 == [record for record in sent if record.key == b"bad-1"]

    again = await replay_dead_letters(infra.kafka_bootstrap_servers, topic)

    assert (len(again.replayed), again.remaining) == (0, 0)
    assert len(await read_records(infra, topic)) == len(after)


async def test_only_key_replays_one_call_and_the_others_stay_replayable_and_dry_run_sends_nothing(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = await new_topic(infra, partitions=1)
    sent = [
        await send_event(producer, topic, call_id, [])
        for call_id in ("call-b", "call-a", "call-b", "call-a")
    ]
    await dead_letter(infra, producer, topic, sent, failing={b"call-a", b"call-b"})
    dlq_before = await read_records(infra, topic + ".dlq")

    dry = await replay_dead_letters(
        infra.kafka_bootstrap_servers, topic, only_key="call-a", dry_run=True
    )

    assert (len(dry.replayed), len(dry.skipped), dry.remaining) == (2, 2, 4)
    assert len(await read_records(infra, topic)) == len(sent)
    assert len(await read_records(infra, topic + ".dlq")) == len(dlq_before)

    only_a = await replay_dead_letters(infra.kafka_bootstrap_servers, topic, only_key="call-a")

    assert (len(only_a.replayed), len(only_a.skipped), only_a.remaining) == (2, 2, 2)
    assert [as_sent(r) for r in replayed_records(await read_records(infra, topic))] == [
        sent[1],
        sent[3],
    ]
    pending = await list_dead_letters(infra.kafka_bootstrap_servers, topic)
    assert [(letter.key, letter.value) for letter in pending] == [
        (sent[0].key, sent[0].value),
        (sent[2].key, sent[2].value),
    ]
    assert all(letter.error.startswith("rejected: no call") for letter in pending)

    rest = await replay_dead_letters(infra.kafka_bootstrap_servers, topic)

    assert (len(rest.replayed), rest.remaining) == (2, 0)
    assert [as_sent(r) for r in replayed_records(await read_records(infra, topic))] == [
        sent[1],
        sent[3],
        sent[0],
        sent[2],
    ]


async def test_a_call_dead_lettered_by_a_broken_handler_is_handled_after_the_fix_and_a_cli_replay(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = await new_topic(infra)
    fixed = False
    handled: list[str] = []

    async def handler(event: events_pb2.CallStatusChanged) -> None:
        if event.header.call_id == "broken-call" and not fixed:
            raise RuntimeError("transcript store refused the document")
        handled.append(event.header.event_id)

    async with consuming(infra, producer, topic, handler):
        broken = await send_event(producer, topic, "broken-call", [])
        fine = await send_event(producer, topic, "fine-call", [])
        broken_event = events_pb2.CallStatusChanged.FromString(broken.value)
        fine_event = events_pb2.CallStatusChanged.FromString(fine.value)

        async def dead_lettered() -> bool:
            return len(await read_records(infra, topic + ".dlq")) == 1

        await wait_for(dead_lettered, timeout_s=60, describe="the broken call to be dead-lettered")
        await wait_for(
            lambda: asyncio.sleep(0, fine_event.header.event_id in handled),
            timeout_s=60,
            describe="the fine call to be handled",
        )

        status, stdout, _ = await run_cli(
            "list", topic, "--json", bootstrap_servers=infra.kafka_bootstrap_servers
        )
        assert status == 0
        [listed] = [json.loads(line) for line in stdout.splitlines()]
        assert listed["key"] == "broken-call"
        assert listed["attempts"] == FAST_RETRY.max_attempts
        assert listed["error"] == "RuntimeError: transcript store refused the document"
        assert listed["source_topic"] == topic

        fixed = True
        status, stdout, stderr = await run_cli(
            "replay", topic, "--limit", "10", bootstrap_servers=infra.kafka_bootstrap_servers
        )
        assert (status, stderr) == (0, "")
        assert stdout.splitlines()[-1] == "replayed 1, skipped 0, remaining 0"

        await wait_for(
            lambda: asyncio.sleep(0, broken_event.header.event_id in handled),
            timeout_s=60,
            describe="the fixed consumer to handle the replayed call",
        )

    assert sorted(handled) == sorted([broken_event.header.event_id, fine_event.header.event_id])
    status, stdout, _ = await run_cli(
        "list", topic, bootstrap_servers=infra.kafka_bootstrap_servers
    )
    assert (status, stdout) == (0, f"{topic}.dlq: 0 dead letters not replayed yet\n")


async def test_limit_stops_after_n_records_and_the_next_replay_goes_on_from_there(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    topic = await new_topic(infra, partitions=1)
    sent = [await send_event(producer, topic, f"call-{n}", []) for n in range(3)]
    await dead_letter(infra, producer, topic, sent, failing={r.key for r in sent if r.key})

    status, stdout, _ = await run_cli(
        "replay", topic, "--limit", "2", "--json", bootstrap_servers=infra.kafka_bootstrap_servers
    )
    assert status == 0
    first = json.loads(stdout)
    assert (first["replayed"], first["remaining"]) == (2, 1)
    status, stdout, _ = await run_cli(
        "replay", topic, "--json", bootstrap_servers=infra.kafka_bootstrap_servers
    )
    assert (status, json.loads(stdout)["replayed"]) == (0, 1)
    assert [as_sent(r) for r in replayed_records(await read_records(infra, topic))] == sent


# --- errors an operator sees ------------------------------------------------------------------


async def test_the_cli_names_an_unknown_topic_an_empty_dlq_and_an_unreachable_broker(
    infra: Infra,
) -> None:
    status, stdout, stderr = await run_cli(
        "replay", "no-such-topic-here", bootstrap_servers=infra.kafka_bootstrap_servers
    )
    assert (status, stdout) == (1, "")
    assert stderr == (
        "callscope-dlq: error: unknown topic 'no-such-topic-here': "
        "the broker has no such topic (give a source topic)\n"
    )

    topic = await new_topic(infra)
    status, _, stderr = await run_cli(
        "list", f"{topic}.dlq", bootstrap_servers=infra.kafka_bootstrap_servers
    )
    assert status == 1
    assert f"give the source topic, not its DLQ: '{topic}'" in stderr

    status, stdout, stderr = await run_cli(
        "replay", topic, bootstrap_servers=infra.kafka_bootstrap_servers
    )
    assert (status, stdout, stderr) == (0, "replayed 0, skipped 0, remaining 0\n", "")

    # A port that refuses connections: bound, never listening.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
        status, stdout, stderr = await run_cli("list", topic, bootstrap_servers=address)
    assert (status, stdout) == (1, "")
    assert stderr.startswith(f"callscope-dlq: error: cannot reach the Kafka broker at {address}")
    assert stderr.count("\n") == 1
