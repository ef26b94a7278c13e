"""Kafka producer and consumer built for at-least-once delivery with an exactly-once effect.

The consumer commits a record's offset only after its handler returned, i.e.
after the handler's write is durable. A handler that keeps failing is retried a
bounded number of times, then the record goes to `<topic>.dlq` with the error
in its headers and the partition keeps flowing. Records of one partition are
handled in order, one at a time; up to `max_in_flight` partitions are worked on
at once. While handlers run (a long transcription can take longer than
`max.poll.interval.ms`), the consumer pauses the busy partitions and keeps
polling so that it stays in its group.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, TopicAlreadyExistsError
from google.protobuf import message as protobuf_message

from callscope_common.events import (
    DLQ_SUFFIX,
    EncodedEvent,
    EventT,
    UndecodableEventError,
    decode,
    encode,
    topic_of,
)
from callscope_common.kafka_offsets import OffsetGauges
from callscope_common.kafka_tracing import (
    describe_event,
    mark_dead_lettered,
    process_span,
    publish_span,
)
from callscope_common.logging import bound_call_id, bound_campaign_id
from callscope_common.metrics import CONSUMER_RECORDS, DLQ_RECORDS
from callscope_common.outages import is_outage

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

    In production Strimzi's KafkaTopic resources own partitions, replication and
    retention, and KAFKA_CREATE_TOPICS=false turns this off (a service started before
    them would otherwise create under-replicated topics); locally it spares a fresh
    broker a round of "unknown topic" retries.
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
        with publish_span(event):
            await self.publish_record(encode(event))

    async def publish_record(self, record: EncodedEvent) -> None:
        """Sends an encoded event (e.g. one kept in an outbox) and waits for the broker's ack."""
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


@dataclass(eq=False)
class _PartitionWork:
    """This member's records of one partition: fetched and not yet taken, and its worker."""

    queue: deque[ConsumerRecord[Any, Any]] = field(default_factory=deque)
    # After the last record taken for handling. A rebalance that gives the partition back
    # to this member rewinds it to the committed offset; records below this one were
    # handled (or are being handled) here already and are not handled twice.
    next_offset: int = 0
    worker: asyncio.Task[None] | None = None


class EventConsumer:
    """Runs subscriptions for one consumer group: each partition in order, several at once.

    One worker task per partition with work handles that partition's records one at a
    time, in offset order, and commits each after it was handled; at most `max_in_flight`
    handlers run at the same time, across partitions. The run loop keeps polling all the
    while, so the member stays in its group however long a handler takes.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        subscriptions: Sequence[Subscription[Any]],
        producer: AIOKafkaProducer,
        retry: RetryPolicy | None = None,
        max_in_flight: int = 1,
        create_missing_topics: bool = True,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        self._by_topic = {subscription.topic: subscription for subscription in subscriptions}
        self._bootstrap_servers = bootstrap_servers
        self._producer = producer
        self._retry = retry or RetryPolicy()
        self._max_in_flight = max_in_flight
        self._create_missing_topics = create_missing_topics
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight = 0
        self._partitions: dict[TopicPartition, _PartitionWork] = {}
        # Every worker still running, including those of partitions that moved away and are
        # still unwinding their cancellation: shutdown waits for all of them.
        self._workers: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        self._offset_gauges = OffsetGauges(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            topics=list(self._by_topic),
            assignment=self._consumer.assignment,
        )
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Consumes until cancelled; commits each record after it was handled or dead-lettered."""
        if self._create_missing_topics:
            await ensure_topics(self._bootstrap_servers, list(self._by_topic))
        self._consumer.subscribe(list(self._by_topic), listener=_RebalanceListener(self))
        await self._consumer.start()
        sampling = asyncio.create_task(self._offset_gauges.run(), name="sample consumer lag")
        try:
            while True:
                # Polling never stops, even when every partition is paused: aiokafka counts
                # the time outside getmany against max.poll.interval.ms.
                batches = await self._consumer.getmany(timeout_ms=500)
                self.ready.set()
                for partition, records in batches.items():
                    self._keep(partition, records)
                self._update_pauses()
                if self._failure is not None:
                    raise self._failure
        finally:
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
            await self._stop_workers()
            await self._consumer.stop()

    def _keep(self, partition: TopicPartition, records: list[ConsumerRecord[Any, Any]]) -> None:
        """Queues fetched records for their partition's worker, starting it if it is idle.

        Records are kept rather than rewound with seek: a fetched record stays queued
        until it is handled or its partition is revoked, so none is ever skipped.
        """
        work = self._partitions.setdefault(partition, _PartitionWork())
        work.queue.extend(record for record in records if record.offset >= work.next_offset)
        if work.queue and work.worker is None:
            work.worker = asyncio.create_task(
                self._work_through(partition, work),
                name=f"consume {partition.topic}[{partition.partition}]",
            )
            self._workers.add(work.worker)
            work.worker.add_done_callback(self._worker_done)

    async def _work_through(self, partition: TopicPartition, work: _PartitionWork) -> None:
        """Handles the partition's queued records in order, one at a time, each in a free slot."""
        try:
            while True:
                async with self._slots:
                    if not work.queue:  # drained, or revoked while waiting for a slot
                        return
                    record = work.queue.popleft()
                    work.next_offset = record.offset + 1
                    self._in_flight += 1
                    self._update_pauses()
                    try:
                        await self._process(partition, record)
                    finally:
                        self._in_flight -= 1
                        self._update_pauses()
        finally:
            # No await since the last look at the queue: a record kept from now on finds
            # no worker and starts a new one.
            work.worker = None
            self._update_pauses()

    def _update_pauses(self) -> None:
        """Pauses the partitions that have work (all of them at capacity), resumes the rest.

        A paused partition fetches nothing, so the run loop can poll freely; resuming
        wakes aiokafka's fetcher at once, so an idle partition's next record is not late.
        """
        assigned = self._consumer.assignment()
        if self._in_flight >= self._max_in_flight:
            paused = set(assigned)
        else:
            paused = {
                partition
                for partition in assigned
                if (work := self._partitions.get(partition)) and work.worker is not None
            }
        self._consumer.pause(*paused)
        self._consumer.resume(*(assigned - paused))

    def _worker_done(self, worker: asyncio.Task[None]) -> None:
        """Hands a worker's unexpected error (e.g. the DLQ unreachable) to the run loop."""
        self._workers.discard(worker)
        if not worker.cancelled() and worker.exception() is not None:
            self._failure = self._failure or worker.exception()

    def _on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Drops the records not taken yet: whoever owns the partition next fetches them again.

        Handlers in flight keep running: with aiokafka's eager rebalancing every
        partition is revoked on every rebalance, and most come straight back.
        """
        for partition in revoked:
            if work := self._partitions.get(partition):
                work.queue.clear()

    def _on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Cancels the handlers of partitions that went to another member, who redoes them."""
        for partition in set(self._partitions) - assigned:
            work = self._partitions.pop(partition)
            if work.worker is not None:
                logger.info(
                    "partition moved to another member, cancelling its handler",
                    extra={"topic": partition.topic, "partition": partition.partition},
                )
                work.worker.cancel()
        # The new assignment starts unpaused; partitions still busy here must not fetch.
        self._update_pauses()

    async def _stop_workers(self) -> None:
        """Cancels the handlers in flight; their records stay uncommitted and are redelivered."""
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._partitions.clear()

    async def _process(self, partition: TopicPartition, record: ConsumerRecord[Any, Any]) -> None:
        subscription = self._by_topic[record.topic]
        headers = list(record.headers or [])
        # One span per record, the child of the producer's: one call's stages, one trace.
        with process_span(record) as span:
            try:
                event = decode(subscription.message_type, record.value, headers)
            except UndecodableEventError as error:
                await self._dead_letter(
                    record, f"undecodable: {error}", attempts=0, reason="undecodable"
                )
            else:
                describe_event(span, event.header)
                with (
                    bound_call_id(event.header.call_id),
                    bound_campaign_id(event.header.campaign_id),
                ):
                    await self._handle_with_retries(subscription, event, record)
            await self._commit(partition, record.offset + 1)

    async def _commit(self, partition: TopicPartition, offset: int) -> None:
        """Commits up to offset; a commit refused because of a rebalance is only logged.

        The record is then redone by whoever next starts from the committed offset (the
        partition's new owner, or this member after a restart), unless the commit of a
        later record covers it first; handlers are idempotent, so either is harmless.
        """
        try:
            await self._while_unreachable(
                lambda: self._consumer.commit({partition: offset}), "commit"
            )
        except (CommitFailedError, IllegalStateError) as error:
            logger.warning(
                "commit refused after a rebalance, the record may be redone",
                extra={
                    "topic": partition.topic,
                    "partition": partition.partition,
                    "offset": offset,
                    "error": str(error),
                },
            )

    async def _handle_with_retries(
        self, subscription: Subscription[Any], event: Any, record: ConsumerRecord[Any, Any]
    ) -> None:
        """Runs the handler until it succeeds, dead-lettering after max_attempts failures.

        A failure caused by an outage of a server the handler needs (MongoDB, Kafka, S3, a
        peer service: see outages.py) does not count as an attempt: the record is fine, so
        it is retried, with capped backoff, for as long as the outage lasts, and the
        partition waits behind it.
        """
        attempt = outage_retries = 0
        while True:
            try:
                await subscription.handler(event)
                CONSUMER_RECORDS.labels(record.topic, "handled").inc()
                return
            except PermanentEventError as error:
                await self._dead_letter(
                    record, f"rejected: {error}", attempt + 1, reason="rejected"
                )
                return
            except Exception as error:
                if is_outage(error):
                    CONSUMER_RECORDS.labels(record.topic, "outage_wait").inc()
                    outage_retries += 1
                    delay = self._retry.backoff(min(outage_retries, 8))
                    logger.warning(
                        "handler waits for a server to come back",
                        extra={"topic": record.topic, "retry": outage_retries, "error": str(error)},
                    )
                    await asyncio.sleep(delay)
                    continue
                attempt += 1
                if attempt >= self._retry.max_attempts:
                    logger.exception(
                        "handler failed, dead-lettering", extra={"topic": record.topic}
                    )
                    await self._dead_letter(
                        record,
                        f"{type(error).__name__}: {error}",
                        attempt,
                        reason="retries_exhausted",
                    )
                    return
                CONSUMER_RECORDS.labels(record.topic, "retried").inc()
                delay = self._retry.backoff(attempt)
                logger.warning(
                    "handler failed, retrying",
                    extra={"topic": record.topic, "attempt": attempt, "error": str(error)},
                )
                await asyncio.sleep(delay)

    async def _while_unreachable(self, action: Callable[[], Awaitable[Any]], what: str) -> None:
        """Runs action, retrying with capped backoff while the broker is unreachable.

        A commit or a dead letter that fails because Kafka is restarting must not end the
        consumer (and with it the service); it is done once the broker is back.
        """
        retries = 0
        while True:
            try:
                await action()
                return
            except Exception as error:
                if not is_outage(error):
                    raise
                retries += 1
                logger.warning(
                    "Kafka unreachable, retrying",
                    extra={"action": what, "retry": retries, "error": str(error)},
                )
                await asyncio.sleep(self._retry.backoff(min(retries, 8)))

    async def _dead_letter(
        self, record: ConsumerRecord[Any, Any], error: str, attempts: int, *, reason: str
    ) -> None:
        """Sends the record to <topic>.dlq with the error; reason labels the DLQ metrics
        (undecodable, rejected, retries_exhausted)."""
        headers = [
            *(record.headers or []),
            ("dlq-error", error.encode()[:4000]),
            ("dlq-source-topic", record.topic.encode()),
            ("dlq-source-partition", str(record.partition).encode()),
            ("dlq-source-offset", str(record.offset).encode()),
            ("dlq-attempts", str(attempts).encode()),
        ]
        await self._while_unreachable(
            lambda: self._producer.send_and_wait(
                record.topic + DLQ_SUFFIX, record.value, key=record.key, headers=headers
            ),
            "dead-letter",
        )
        mark_dead_lettered(error)
        CONSUMER_RECORDS.labels(record.topic, "dead_lettered").inc()
        DLQ_RECORDS.labels(record.topic, reason).inc()
        logger.error("record dead-lettered", extra={"topic": record.topic, "error": error})


class _RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Tells the EventConsumer which partitions it lost and which it holds now."""

    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Called before the group rebalances, with every partition this member had."""
        self._consumer._on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Called after the rebalance, with every partition this member has now."""
        self._consumer._on_partitions_assigned(assigned)
