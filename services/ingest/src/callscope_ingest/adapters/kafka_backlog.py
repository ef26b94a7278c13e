"""The stages' backlog in the broker: records their consumer groups have not committed yet."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from callscope_common.events import DLQ_SUFFIX


class KafkaStageBacklog:
    """Sums end offset − committed offset over the partitions the given groups consume."""

    def __init__(self, bootstrap_servers: str, groups: Sequence[str]) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._groups = tuple(groups)

    async def queued_records(self) -> int:
        """Records the groups have not committed yet, over every partition they committed on."""
        committed = await self._committed()
        if not committed:
            return 0
        reader = AIOKafkaConsumer(bootstrap_servers=self._bootstrap_servers)
        await reader.start()
        try:
            ends = await reader.end_offsets(list({partition for partition, _ in committed}))
        finally:
            await reader.stop()
        return sum(max(0, ends.get(partition, offset) - offset) for partition, offset in committed)

    async def _committed(self) -> list[tuple[TopicPartition, int]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap_servers)
        await admin.start()
        try:
            committed: list[tuple[TopicPartition, int]] = []
            for group in self._groups:
                offsets = await admin.list_consumer_group_offsets(group)
                committed.extend(
                    (partition, meta.offset)
                    for partition, meta in offsets.items()
                    if meta.offset >= 0 and not partition.topic.endswith(DLQ_SUFFIX)
                )
            return committed
        finally:
            await admin.close()
