"""Kafka producer and consumer built for at-least-once delivery with an exactly-once effect.

The consumer commits a record's offset only after its handler returned, i.e.
after the handler's write is durable. A handler that keeps failing is retried a
bounded number of times, then the record goes to `<topic>.dlq` with the error
in its headers and the partition keeps flowing. While a handler runs (a long
transcription can take longer than `max.poll.interval.ms`), the consumer pauses
its partitions and keeps polling so that it stays in its group.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from google.protobuf import message as protobuf_message

from callscope_common.events import (
    DLQ_SUFFIX,
    EventT,
    UndecodableEventError,
    decode,
    encode,
    topic_of,
)
from callscope_common.logging import bound_call_id

logger = logging.getLogger(__name__)


class PermanentEventError(Exception):
    """Raised by a handler when retrying cannot help (e.g. the call does not exist)."""


def create_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas and never duplicates on retry."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
    )


async def ensure_topics(bootstrap_servers: str, topics: Sequence[str], partitions: int = 3) -> None:
    """Creates the topics that do not exist yet (each with its DLQ); existing ones are kept.

    In production Strimzi's KafkaTopic resources own partitions and retention;
    this only spares a fresh local broker a round of "unknown topic" retries.
    """
    wanted = {name for topic in topics for name in (topic, topic + DLQ_SUFFIX)}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        missing = wanted - set(await admin.list_topics())
        if missing:
            await admin.create_topics(
                [NewTopic(name, partitions, replication_factor=1) for name in sorted(missing)]
            )
    except TopicAlreadyExistsError:
        pass  # another service created it meanwhile
    finally:
        await admin.close()


class EventPublisher:
    """Publishes event messages to the topic their contract declares."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def publish(self, event: protobuf_message.Message) -> None:
        """Sends the event and waits until the broker has acknowledged it."""
        record = encode(event)
        await self._producer.send_and_wait(
            record.topic, record.value, key=record.key, headers=record.headers
        )


@dataclass(frozen=True)
class Subscription(Generic[EventT]):
    """A topic's event type and the handler that applies it."""

    message_type: type[EventT]
    handler: Callable[[EventT], Awaitable[None]]
    # Only tests set this, to read a private topic instead of the contract's.
    topic_override: str = ""

    @property
    def topic(self) -> str:
        """The topic this subscription reads, from the message's contract."""
        return self.topic_override or topic_of(self.message_type)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing handler is retried before the DLQ."""

    max_attempts: int = 5
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 10.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter for the given (1-based) attempt."""
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


class EventConsumer:
    """Runs subscriptions for one consumer group, one record at a time."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        subscriptions: Sequence[Subscription[Any]],
        producer: AIOKafkaProducer,
        retry: RetryPolicy | None = None,
        poll_while_busy_s: float = 1.0,
    ) -> None:
        self._by_topic = {subscription.topic: subscription for subscription in subscriptions}
        self._bootstrap_servers = bootstrap_servers
        self._producer = producer
        self._retry = retry or RetryPolicy()
        self._poll_while_busy_s = poll_while_busy_s
        self._consumer = AIOKafkaConsumer(
            *self._by_topic,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Consumes until cancelled; commits each record after it was handled or dead-lettered."""
        await ensure_topics(self._bootstrap_servers, list(self._by_topic))
        await self._consumer.start()
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=1)
                self.ready.set()
                for partition, records in batches.items():
                    for record in records:
                        await self._process(partition, record)
        finally:
            await self._consumer.stop()

    async def _process(self, partition: TopicPartition, record: ConsumerRecord[Any, Any]) -> None:
        subscription = self._by_topic[record.topic]
        headers = list(record.headers or [])
        try:
            event = decode(subscription.message_type, record.value, headers)
        except UndecodableEventError as error:
            await self._dead_letter(record, f"undecodable: {error}", attempts=0)
        else:
            with bound_call_id(event.header.call_id):
                await self._handle_with_retries(subscription, event, record)
        await self._consumer.commit({partition: record.offset + 1})

    async def _handle_with_retries(
        self, subscription: Subscription[Any], event: Any, record: ConsumerRecord[Any, Any]
    ) -> None:
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                await self._while_staying_in_group(subscription.handler(event))
                return
            except PermanentEventError as error:
                await self._dead_letter(record, f"rejected: {error}", attempts=attempt)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if attempt == self._retry.max_attempts:
                    logger.exception(
                        "handler failed, dead-lettering", extra={"topic": record.topic}
                    )
                    await self._dead_letter(record, f"{type(error).__name__}: {error}", attempt)
                    return
                delay = self._retry.backoff(attempt)
                logger.warning(
                    "handler failed, retrying",
                    extra={"topic": record.topic, "attempt": attempt, "error": str(error)},
                )
                await self._while_staying_in_group(asyncio.sleep(delay))

    async def _while_staying_in_group(self, work: Awaitable[None]) -> None:
        """Awaits work while polling paused partitions, so the group keeps this member."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self._poll_while_busy_s)
                if done:
                    task.result()
                    return
                self._consumer.pause(*self._consumer.assignment())
                stray = await self._consumer.getmany(timeout_ms=0)
                # A partition assigned mid-work was not paused yet: rewind what it fetched.
                for partition, records in stray.items():
                    self._consumer.seek(partition, records[0].offset)
        finally:
            if not task.done():
                task.cancel()
            self._consumer.resume(*self._consumer.assignment())

    async def _dead_letter(
        self, record: ConsumerRecord[Any, Any], error: str, attempts: int
    ) -> None:
        headers = [
            *(record.headers or []),
            ("dlq-error", error.encode()[:4000]),
            ("dlq-source-topic", record.topic.encode()),
            ("dlq-source-partition", str(record.partition).encode()),
            ("dlq-source-offset", str(record.offset).encode()),
            ("dlq-attempts", str(attempts).encode()),
        ]
        await self._producer.send_and_wait(
            record.topic + DLQ_SUFFIX, record.value, key=record.key, headers=headers
        )
        logger.error("record dead-lettered", extra={"topic": record.topic, "error": error})
