"""Transcription's events as the protobuf messages of the contract, published to Kafka."""

from __future__ import annotations

import uuid
from typing import Protocol

from callscope.v1 import common_pb2, events_pb2
from callscope_common.events import new_header
from google.protobuf import message as protobuf_message

from callscope_transcription.domain.events import (
    CallTranscribed,
    TranscriptionEvent,
    TranscriptionFailed,
    TranscriptionStarted,
)
from callscope_transcription.domain.model import CallContext

# Event ids derive from the cause's id, so re-publishing after a redelivery repeats the
# same id and every downstream consumer can drop the repeat.
_EVENT_ID_NAMESPACE = uuid.UUID("6c1f4f0e-8a35-5d7b-9b43-6f0c2b1d7e21")


class Publisher(Protocol):
    """Publishes a protobuf event to the topic its contract names."""

    async def publish(self, event: protobuf_message.Message) -> None:
        """Sends one event durably."""


class KafkaEventSink:
    """Maps domain events to `calls.status` and `calls.transcribed` messages."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def publish(self, event: TranscriptionEvent) -> None:
        """Publishes the event's message and waits for the broker's acknowledgement."""
        await self._publisher.publish(to_message(event))


def to_message(event: TranscriptionEvent) -> protobuf_message.Message:
    """The contract message announcing a domain event."""
    match event:
        case TranscriptionStarted(context=context):
            return events_pb2.CallStatusChanged(
                header=_header(context, "transcribing"),
                status=common_pb2.CALL_STATUS_TRANSCRIBING,
                stage=common_pb2.STAGE_TRANSCRIPTION,
            )
        case TranscriptionFailed(context=context, reason=reason):
            return events_pb2.CallStatusChanged(
                header=_header(context, "failed"),
                status=common_pb2.CALL_STATUS_FAILED,
                stage=common_pb2.STAGE_TRANSCRIPTION,
                reason=reason,
            )
        case CallTranscribed(
            context=context,
            transcript_id=transcript_id,
            transcript_version=version,
            speaker_roles_need_review=needs_review,
        ):
            return events_pb2.CallTranscribed(
                header=_header(context, f"transcribed/{transcript_id}"),
                transcript_id=transcript_id,
                transcript_version=version,
                speaker_roles_need_review=needs_review,
            )


def _header(context: CallContext, kind: str) -> events_pb2.EventHeader:
    header = new_header(context.call_id, context.org_id, context.campaign_id)
    if context.cause_event_id:
        header.event_id = uuid.uuid5(
            _EVENT_ID_NAMESPACE, f"transcription/{context.cause_event_id}/{kind}"
        ).hex
    return header
