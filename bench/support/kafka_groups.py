"""Kafka seen from outside the services: partitions, consumer-group offsets, lag, members."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.structs import OffsetAndMetadata
from callscope_common.events import DLQ_SUFFIX


class KafkaProbe:
    """An admin client and a group-less consumer, for looking at topics and groups."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._bootstrap = bootstrap_servers
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False
        )

    async def __aenter__(self) -> KafkaProbe:
        await self._admin.start()
        await self._consumer.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def partitions(self, topic: str) -> list[TopicPartition]:
        """The topic's partitions as the broker knows them now ([] when it does not exist)."""
        # Asking about one topic by name makes a broker with auto.create.topics.enable (the
        # local one) create it with its default partitions; listing all topics does not.
        if topic not in await self._admin.list_topics():
            return []
        (description,) = await self._admin.describe_topics([topic])
        numbers = sorted(partition["partition"] for partition in description["partitions"])
        return [TopicPartition(topic, number) for number in numbers]

    async def ensure_partitions(self, topic: str, count: int) -> int:
        """Creates the topic (and its DLQ) with `count` partitions, or adds partitions up to
        `count`; returns how many it has. Run it before any client of the topic starts: a
        running producer or consumer sees new partitions only when it refreshes its metadata."""
        existing = len(await self.partitions(topic))
        if existing == 0:
            await self._admin.create_topics(
                [
                    NewTopic(name, count, replication_factor=1)
                    for name in (topic, topic + DLQ_SUFFIX)
                ]
            )
        elif existing < count:
            await self._admin.create_partitions({topic: NewPartitions(total_count=count)})
        now = len(await self.partitions(topic))
        if now < count:
            raise RuntimeError(f"{topic} has {now} partitions, not the {count} asked for")
        return now

    async def start_groups_at_end(self, groups: Sequence[str]) -> None:
        """Commits, for each new group, every topic's current end offset.

        The stage topics are shared by every run against one stack, and the services'
        consumers start a group with no offsets at the earliest record: without this, a
        benchmark's fresh groups would first work through earlier runs' events.
        """
        topics = [topic for topic in await self._admin.list_topics() if not topic.startswith("__")]
        partitions = [tp for topic in topics for tp in await self.partitions(topic)]
        if not partitions:
            return
        ends = await self._consumer.end_offsets(partitions)
        for group in groups:
            committer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap, group_id=group, enable_auto_commit=False
            )
            await committer.start()
            try:
                committer.assign(partitions)
                await committer.commit({tp: OffsetAndMetadata(ends[tp], "") for tp in partitions})
            finally:
                await committer.stop()

    async def lag(self, group: str, topic: str) -> int:
        """Records of the topic the group has not committed yet (end offset - committed)."""
        partitions = await self.partitions(topic)
        ends = await self._consumer.end_offsets(partitions)
        committed = await self._admin.list_consumer_group_offsets(group, partitions=partitions)
        return sum(
            max(0, ends[tp] - max(0, committed[tp].offset if tp in committed else 0))
            for tp in partitions
        )

    async def assignment(self, group: str, topic: str) -> list[list[int]]:
        """The topic's partitions each member of the group holds (one list per member);
        [] while the group is rebalancing."""
        responses = await self._admin.describe_consumer_groups([group])
        held: list[list[int]] = []
        for response in responses:
            for description in response.groups:
                error_code, _, state, _, _, members = description[:6]
                if error_code or state != "Stable":
                    return []
                for member in members:
                    assigned = ConsumerProtocolMemberAssignment.decode(member[4])
                    held.append(
                        sorted(
                            number
                            for name, numbers in assigned.assignment
                            if name == topic
                            for number in numbers
                        )
                    )
        return sorted(held)

    async def wait_for_members(
        self, group: str, topic: str, members: int, timeout_s: float = 120
    ) -> list[list[int]]:
        """Waits until the group is stable with `members` members that each hold some of the
        topic's partitions; returns the assignment."""
        deadline = time.monotonic() + timeout_s
        held: list[list[int]] = []
        while time.monotonic() < deadline:
            held = await self.assignment(group, topic)
            if len(held) == members and all(held):
                return held
            await asyncio.sleep(0.5)
        raise TimeoutError(f"group {group} did not settle on {members} members: {held}")
