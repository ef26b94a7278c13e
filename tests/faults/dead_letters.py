"""What the dead-letter topics (`<topic>.dlq`) hold, read straight from the broker."""

from __future__ import annotations

import time
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, TopicPartition

DLQ_SUFFIX = ".dlq"
READ_TIMEOUT_MS = 2_000
READ_DEADLINE_S = 60.0


async def dead_letter_keys(bootstrap_servers: str) -> dict[str, set[str]]:
    """Every record key (a call id) in every DLQ topic, by topic, from the first offset."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.endswith(DLQ_SUFFIX))
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in consumer.partitions_for_topic(topic) or ()
        ]
        keys: dict[str, set[str]] = defaultdict(set)
        if not partitions:
            return keys
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + READ_DEADLINE_S
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            if time.monotonic() > deadline:
                raise AssertionError(f"the DLQs were not read to their end offsets {ends}")
            batches = await consumer.getmany(*partitions, timeout_ms=READ_TIMEOUT_MS)
            for partition, records in batches.items():
                for record in records:
                    keys[partition.topic].add((record.key or b"").decode(errors="replace"))
        return keys
    finally:
        await consumer.stop()
