"""Dead-letter queues from the operator's side: list what is in `<topic>.dlq`, replay it.

Replay progress is the committed offset of one consumer group (`callscope-dlq-replay`)
on the DLQ's partitions: each record is republished to its source topic, then its offset
is committed, so a second replay starts where the first one stopped and a crash resends
at most the record in flight (consumers are idempotent, so that is harmless).

A filtered replay (`only_key`) must not commit past the records it leaves out, or they
would never be replayed. It moves them instead: each one left out is appended again to
the end of its DLQ partition (same value, key and headers) before its offset is
committed, so committed progress stays one offset per partition and everything not
replayed stays pending. The DLQ grows by the records left out; a crash between the copy
and the commit leaves two copies, replayed twice later (harmless, as above).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from callscope_common.events import DLQ_SUFFIX, EVENT_TYPE_HEADER
from callscope_common.kafka import create_producer

REPLAY_GROUP = "callscope-dlq-replay"
REPLAYED_FROM_HEADER = "dlq-replayed-from"
# Every header the dead-lettering adds starts with this; a replay removes them all.
DLQ_HEADER_PREFIX = "dlq-"
DEFAULT_TIMEOUT_S = 30.0

T = TypeVar("T")


class DlqError(Exception):
    """A DLQ operation that cannot go on; the message says why, for a person."""


@dataclass(frozen=True)
class DeadLetter:
    """One record of a DLQ: the original record plus the error it failed with."""

    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    # Only `list_dead_letters(include_replayed=True)` returns replayed ones.
    replayed: bool = False

    @classmethod
    def from_record(cls, record: ConsumerRecord[Any, Any], *, replayed: bool) -> DeadLetter:
        """The dead letter that a DLQ record holds."""
        return cls(
            dlq_topic=record.topic,
            dlq_partition=record.partition,
            dlq_offset=record.offset,
            timestamp_ms=record.timestamp,
            key=record.key,
            value=record.value,
            headers=tuple(record.headers or ()),
            replayed=replayed,
        )

    @property
    def location(self) -> str:
        """Where it lies in the DLQ, as `<dlq topic>/<partition>/<offset>`."""
        return f"{self.dlq_topic}/{self.dlq_partition}/{self.dlq_offset}"

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers of the record as it was first produced (every `dlq-*` one removed)."""
        return [(name, value) for name, value in self.headers if not _is_dlq_header(name)]

    def header(self, name: str) -> str:
        """A header's last value as text ('' when absent)."""
        values = [value for header, value in self.headers if header == name]
        return values[-1].decode(errors="replace") if values else ""

    @property
    def error(self) -> str:
        """Why the record was dead-lettered."""
        return self.header("dlq-error")

    @property
    def attempts(self) -> int | None:
        """How many times the handler ran before it gave up (0: never decoded)."""
        attempts = self.header("dlq-attempts")
        return int(attempts) if attempts.isdigit() else None

    @property
    def source_partition(self) -> int | None:
        """The partition of the source topic the record was read from."""
        partition = self.header("dlq-source-partition")
        return int(partition) if partition.isdigit() else None

    @property
    def source_offset(self) -> int | None:
        """The record's offset in its source partition."""
        offset = self.header("dlq-source-offset")
        return int(offset) if offset.isdigit() else None

    @property
    def dead_lettered_at(self) -> datetime:
        """When the record was written to the DLQ."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    def as_json(self) -> dict[str, Any]:
        """The fields an operator's script needs, JSON-ready (bytes decoded leniently)."""
        return {
            "dlq_partition": self.dlq_partition,
            "dlq_offset": self.dlq_offset,
            "source_topic": self.header("dlq-source-topic"),
            "source_partition": self.source_partition,
            "source_offset": self.source_offset,
            "key": _text(self.key),
            "event_type": self.header(EVENT_TYPE_HEADER),
            "attempts": self.attempts,
            "error": self.error,
            "dead_lettered_at": self.dead_lettered_at.isoformat(timespec="milliseconds"),
            "replayed": self.replayed,
            "value_bytes": len(self.value or b""),
        }


@dataclass
class ReplaySummary:
    """What a replay did: republished, left out (moved to the DLQ's end), still pending."""

    dry_run: bool
    replayed: list[DeadLetter] = field(default_factory=list)
    skipped: list[DeadLetter] = field(default_factory=list)
    remaining: int = 0

    def as_json(self) -> dict[str, Any]:
        """The summary as a JSON-ready mapping."""
        return {
            "dry_run": self.dry_run,
            "replayed": len(self.replayed),
            "skipped": len(self.skipped),
            "remaining": self.remaining,
            "replayed_records": [letter.location for letter in self.replayed],
        }


async def list_dead_letters(
    bootstrap_servers: str,
    topic: str,
    *,
    include_replayed: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[DeadLetter]:
    """The dead letters of a topic not replayed yet (all those retained with include_replayed)."""
    letters: list[DeadLetter] = []
    async with _open_dlq(bootstrap_servers, topic, timeout_s) as dlq:
        for partition in dlq.partitions:
            pending_from = await dlq.consumer.position(partition)
            if include_replayed:
                await dlq.consumer.seek_to_beginning(partition)
            async for record in dlq.read(partition):
                letters.append(
                    DeadLetter.from_record(record, replayed=record.offset < pending_from)
                )
    return letters


async def replay_dead_letters(
    bootstrap_servers: str,
    topic: str,
    *,
    dry_run: bool = False,
    only_key: str | None = None,
    limit: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ReplaySummary:
    """Republishes a topic's pending dead letters to it, oldest first per partition.

    Each record goes back with its value, key and original headers plus
    `dlq-replayed-from`; with only_key the others are moved to the DLQ's end (see the
    module's docstring); limit caps the records replayed; dry_run changes nothing.
    """
    if limit is not None and limit < 1:
        raise DlqError(f"the limit must be at least 1, not {limit}")
    summary = ReplaySummary(dry_run=dry_run)

    def limit_reached() -> bool:
        return limit is not None and len(summary.replayed) >= limit

    async with _open_dlq(bootstrap_servers, topic, timeout_s) as dlq:
        producer = None if dry_run else await dlq.start_producer()
        for partition in dlq.partitions:
            if limit_reached():
                break
            async with contextlib.aclosing(dlq.read(partition)) as records:
                async for record in records:
                    letter = DeadLetter.from_record(record, replayed=False)
                    wanted = only_key is None or letter.key == only_key.encode()
                    (summary.replayed if wanted else summary.skipped).append(letter)
                    if producer is not None:
                        if wanted:
                            await _republish(producer, topic, letter)
                        else:
                            await _move_to_end(producer, letter)
                        await dlq.consumer.commit({partition: record.offset + 1})
                    if limit_reached():
                        break
        summary.remaining = await dlq.pending_count()
    return summary


async def _republish(producer: AIOKafkaProducer, topic: str, letter: DeadLetter) -> None:
    """Sends a dead letter back to its source topic as it was, marked as replayed.

    It goes by key, not to the source partition, so a call's events land on the
    partition that now holds that call's key even if the topic was repartitioned.
    """
    headers = [*letter.original_headers, (REPLAYED_FROM_HEADER, letter.location.encode())]
    await producer.send_and_wait(topic, letter.value, key=letter.key, headers=headers)


async def _move_to_end(producer: AIOKafkaProducer, letter: DeadLetter) -> None:
    """Appends a dead letter left out by a filter to the end of its own DLQ partition."""
    await producer.send_and_wait(
        letter.dlq_topic,
        letter.value,
        key=letter.key,
        headers=list(letter.headers),
        partition=letter.dlq_partition,
    )


def _is_dlq_header(name: str) -> bool:
    return name.startswith(DLQ_HEADER_PREFIX)


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode(errors="backslashreplace")


@dataclass
class _OpenDlq:
    """A consumer assigned to every partition of a DLQ, positioned at its pending records."""

    bootstrap_servers: str
    consumer: AIOKafkaConsumer
    partitions: Sequence[TopicPartition]
    # End offsets when the DLQ was opened: records appended later (moved by a filter, or
    # dead-lettered meanwhile) wait for the next run, so a run always ends.
    ends: dict[TopicPartition, int]
    timeout_s: float
    exits: contextlib.AsyncExitStack

    async def start_producer(self) -> AIOKafkaProducer:
        """An idempotent producer, stopped when the DLQ is closed."""
        producer = create_producer(self.bootstrap_servers, REPLAY_GROUP)
        self.exits.push_async_callback(producer.stop)
        await _within(self.timeout_s, self.bootstrap_servers, producer.start())
        return producer

    async def read(
        self, partition: TopicPartition
    ) -> AsyncGenerator[ConsumerRecord[Any, Any], None]:
        """The partition's records from its position up to its end offset at opening."""
        end = self.ends[partition]
        last_progress = time.monotonic()
        while await self.consumer.position(partition) < end:
            batch = await self.consumer.getmany(partition, timeout_ms=500, max_records=100)
            records = batch.get(partition, [])
            if records:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > self.timeout_s:
                raise DlqError(
                    f"the Kafka broker at {self.bootstrap_servers} sent nothing of "
                    f"{partition.topic}[{partition.partition}] for {self.timeout_s:.0f} s"
                )
            for record in records:
                if record.offset >= end:
                    return
                yield record

    async def pending_count(self) -> int:
        """How many records lie after the group's committed offsets, now."""
        if not self.partitions:  # the DLQ was never created
            return 0
        ends = await self.consumer.end_offsets(list(self.partitions))
        starts = await self.consumer.beginning_offsets(list(self.partitions))
        pending = 0
        for partition in self.partitions:
            committed = await self.consumer.committed(partition)
            pending += ends[partition] - max(committed or 0, starts[partition])
        return pending


@contextlib.asynccontextmanager
async def _open_dlq(
    bootstrap_servers: str, topic: str, timeout_s: float
) -> AsyncIterator[_OpenDlq]:
    """Opens `<topic>.dlq` at the group's committed offsets; refuses an unknown topic."""
    dlq_topic = topic + DLQ_SUFFIX
    async with contextlib.AsyncExitStack() as exits:
        try:
            topics = await _within(
                timeout_s, bootstrap_servers, _partitions_by_topic(bootstrap_servers)
            )
            if topic.endswith(DLQ_SUFFIX):  # nothing consumes a DLQ, so none has a DLQ
                raise DlqError(
                    f"give the source topic, not its DLQ: {topic.removesuffix(DLQ_SUFFIX)!r} "
                    f"instead of {topic!r}"
                )
            if topic not in topics:
                raise DlqError(
                    f"unknown topic {topic!r}: the broker has no such topic (give a source topic)"
                )
            # A source topic whose DLQ was never created has no dead letters: an empty DLQ.
            partitions = [TopicPartition(dlq_topic, number) for number in topics.get(dlq_topic, [])]
            consumer = AIOKafkaConsumer(
                bootstrap_servers=bootstrap_servers,
                group_id=REPLAY_GROUP,
                client_id=REPLAY_GROUP,
                enable_auto_commit=False,
                # Never committed, or committed below what retention kept: the oldest.
                auto_offset_reset="earliest",
            )
            # Stopped even when starting fails, which leaves a half-open client otherwise.
            exits.push_async_callback(consumer.stop)
            await _within(timeout_s, bootstrap_servers, consumer.start())
            ends: dict[TopicPartition, int] = {}
            if partitions:
                consumer.assign(partitions)
                ends = await _within(timeout_s, bootstrap_servers, consumer.end_offsets(partitions))
            yield _OpenDlq(bootstrap_servers, consumer, partitions, ends, timeout_s, exits)
        except KafkaError as error:
            raise DlqError(f"Kafka at {bootstrap_servers} failed: {error}") from error


async def _partitions_by_topic(bootstrap_servers: str) -> dict[str, list[int]]:
    """Every topic on the broker with its partition numbers, in order."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        await admin.start()
        described = await admin.describe_topics()
    finally:
        await admin.close()
    return {
        entry["topic"]: sorted(partition["partition"] for partition in entry["partitions"])
        for entry in described
    }


async def _within(timeout_s: float, bootstrap_servers: str, step: Awaitable[T]) -> T:
    """Awaits a step that talks to the broker, turning "unreachable" into a DlqError."""
    try:
        async with asyncio.timeout(timeout_s):
            return await step
    except TimeoutError as error:
        raise DlqError(
            f"the Kafka broker at {bootstrap_servers} did not answer within {timeout_s:.0f} s"
        ) from error
    except KafkaError as error:
        raise DlqError(
            f"cannot reach the Kafka broker at {bootstrap_servers} ({type(error).__name__}): "
            "is it running, and is KAFKA_BOOTSTRAP_SERVERS (--bootstrap-servers) right?"
        ) from error
