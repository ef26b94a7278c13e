"""Samples a consumer's lag and its topics' dead-letter depths into Prometheus gauges.

Runs next to an EventConsumer with clients of its own (a group-less consumer for end and
start offsets, an admin client for the group's committed offsets and the DLQ partitions),
so a slow or failing sample never holds up consumption; a failed round is logged and the
next one tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from callscope_common.events import DLQ_SUFFIX
from callscope_common.metrics import CONSUMER_LAG, DLQ_DEPTH

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_INTERVAL_S = 5.0


class OffsetGauges:
    """Refreshes callscope_consumer_lag for the partitions this member holds and
    callscope_dlq_depth for the topics it reads, every interval_s."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        assignment: Callable[[], set[TopicPartition]],
        interval_s: float = DEFAULT_SAMPLE_INTERVAL_S,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._group_id = group_id
        self._topics = list(topics)
        self._assignment = assignment
        self._interval_s = interval_s
        # The partitions this member reported lag for, so that one that moved to another
        # member stops being reported here (its new holder reports it).
        self._reported: set[TopicPartition] = set()

    async def run(self) -> None:
        """Samples until cancelled; the lag of this member's partitions is removed on exit."""
        offsets = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap_servers,
            client_id=f"{self._group_id}-offsets",
            enable_auto_commit=False,
        )
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap_servers, client_id=f"{self._group_id}-offsets"
        )
        try:
            await offsets.start()
            await admin.start()
            while True:
                try:
                    await self._sample(offsets, admin)
                except Exception as error:
                    logger.warning(
                        "consumer lag and DLQ depth not sampled this round",
                        extra={"group": self._group_id, "error": str(error)},
                    )
                await asyncio.sleep(self._interval_s)
        finally:
            self._report_lag({})
            await admin.close()
            await offsets.stop()

    async def _sample(self, offsets: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        held = sorted(self._assignment())
        dead_letters = await _partitions(admin, [topic + DLQ_SUFFIX for topic in self._topics])
        wanted = [*held, *dead_letters]
        ends = await offsets.end_offsets(wanted)
        starts = await offsets.beginning_offsets(wanted)
        committed = (
            await admin.list_consumer_group_offsets(self._group_id, partitions=held) if held else {}
        )
        lag = {}
        for partition in held:
            done = committed.get(partition)
            # No commit yet: the group starts from the earliest record (auto_offset_reset).
            start = done.offset if done is not None and done.offset >= 0 else starts[partition]
            lag[partition] = max(0, ends[partition] - start)
        self._report_lag(lag)
        for topic in self._topics:
            depth = sum(
                ends[partition] - starts[partition]
                for partition in dead_letters
                if partition.topic == topic + DLQ_SUFFIX
            )
            DLQ_DEPTH.labels(topic).set(depth)

    def _report_lag(self, lag: dict[TopicPartition, int]) -> None:
        for partition in self._reported - set(lag):
            CONSUMER_LAG.remove(self._group_id, partition.topic, str(partition.partition))
        for partition, records in lag.items():
            CONSUMER_LAG.labels(self._group_id, partition.topic, str(partition.partition)).set(
                records
            )
        self._reported = set(lag)


async def _partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    """The partitions of the topics that exist."""
    described = await admin.describe_topics(topics)
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic["error_code"] == 0
        for partition in topic["partitions"]
    ]
