"""Ingest's ports for integration tests: real adapters, with the gateway's directory fixed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from callscope.v1 import events_pb2
from callscope_common.events import EVENT_TYPE_HEADER, EncodedEvent, decode
from callscope_ingest.domain.agents import Agent
from callscope_ingest.domain.audio_rules import AudioLimits
from callscope_ingest.domain.calls import Call
from callscope_ingest.handlers import IngestPorts, RegisterCall, register_call, spooled_upload
from callscope_ingest.ports import Publisher
from google.protobuf import message as protobuf_message

LIMITS = AudioLimits()


class FixedCampaignSettings:
    """The directory's answer about auto-processing, fixed (the gateway is not running here)."""

    def __init__(self, auto_processing: bool) -> None:
        self._auto_processing = auto_processing

    async def auto_processing(self, org_id: str, campaign_id: str) -> bool:
        return self._auto_processing


AUTO = FixedCampaignSettings(auto_processing=True)
HELD = FixedCampaignSettings(auto_processing=False)


class FixedAgents:
    """The directory's agents, fixed: codes match case-insensitively, as the gateway's do."""

    def __init__(self, *agents: Agent) -> None:
        self._agents = agents

    async def find_agent(self, org_id: str, campaign_id: str, code: str) -> Agent | None:
        return next(
            (
                agent
                for agent in self._agents
                if agent.code.upper() == code.upper() and campaign_id in agent.campaign_ids
            ),
            None,
        )

    async def get_agent(self, org_id: str, agent_id: str) -> Agent | None:
        return next((agent for agent in self._agents if agent.id == agent_id), None)


NO_AGENTS = FixedAgents()


class RecordingPublisher:
    """Publishes through the real producer and remembers what it sent, decoded."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self.sent: list[protobuf_message.Message] = []

    async def publish(self, event: protobuf_message.Message) -> None:
        await self._publisher.publish(event)
        self.sent.append(event)

    async def publish_record(self, record: EncodedEvent) -> None:
        await self._publisher.publish_record(record)
        self.sent.append(decoded(record))


def decoded(record: EncodedEvent) -> protobuf_message.Message:
    """The event message an encoded record carries, by its event-type header."""
    full_name = dict(record.headers)[EVENT_TYPE_HEADER].decode()
    message_type: type[protobuf_message.Message] = getattr(events_pb2, full_name.split(".")[-1])
    return decode(message_type, record.value, record.headers)


async def chunks_of(path: Path, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A file's bytes in chunks, as the gRPC stream delivers them."""
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


async def upload(path: Path, request: RegisterCall, ports: IngestPorts) -> Call:
    """Streams a local file through ingest's spool and registers it, as the servicer does."""
    async with spooled_upload(chunks_of(path), None, LIMITS) as spooled:
        return await register_call(request, spooled, LIMITS, ports)
