"""Kafka event envelopes: which topic carries which message, and how records are encoded.

The topic of each event message is declared in proto/ with the `topic` option,
so this module reads it from the descriptor instead of keeping its own list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from callscope.v1 import events_pb2, options_pb2
from google.protobuf import message as protobuf_message
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_common.tracing import inject_into_headers

SCHEMA_VERSION = "1"
EVENT_TYPE_HEADER = "event-type"
SCHEMA_VERSION_HEADER = "schema-version"
DLQ_SUFFIX = ".dlq"

EventT = TypeVar("EventT", bound=protobuf_message.Message)


class UndecodableEventError(ValueError):
    """A record that is not a valid event of the topic's message type."""


def topic_of(message_type: type[protobuf_message.Message]) -> str:
    """The Kafka topic that carries this event message, from its proto `topic` option."""
    topic: str = message_type.DESCRIPTOR.GetOptions().Extensions[options_pb2.topic]
    if not topic:
        raise ValueError(f"{message_type.DESCRIPTOR.full_name} declares no topic")
    return topic


def new_header(call_id: str, org_id: str, campaign_id: str) -> events_pb2.EventHeader:
    """A fresh event header with a unique event id and the current time."""
    occurred_at = Timestamp()
    occurred_at.FromDatetime(datetime.now(UTC))
    return events_pb2.EventHeader(
        event_id=uuid.uuid4().hex,
        occurred_at=occurred_at,
        call_id=call_id,
        org_id=org_id,
        campaign_id=campaign_id,
    )


@dataclass(frozen=True)
class EncodedEvent:
    """An event ready to be produced: topic, key, value and headers."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def encode(event: protobuf_message.Message) -> EncodedEvent:
    """Encodes an event message keyed by its call id (so one call's events stay in order).

    The headers also carry the current trace context (`traceparent`, `tracestate`) when
    a span is current, so a record kept to be sent later still continues its trace.
    """
    header = getattr(event, "header", None)
    if not isinstance(header, events_pb2.EventHeader) or not header.call_id:
        raise ValueError(f"{event.DESCRIPTOR.full_name} has no header with a call id")
    headers = [
        (EVENT_TYPE_HEADER, event.DESCRIPTOR.full_name.encode()),
        (SCHEMA_VERSION_HEADER, SCHEMA_VERSION.encode()),
    ]
    inject_into_headers(headers)
    return EncodedEvent(
        topic=topic_of(type(event)),
        key=header.call_id.encode(),
        value=event.SerializeToString(),
        headers=headers,
    )


def decode(
    message_type: type[EventT], value: bytes | None, headers: list[tuple[str, bytes]]
) -> EventT:
    """Decodes a record's value, refusing unknown schema versions and wrong event types."""
    header_map = dict(headers)
    version = header_map.get(SCHEMA_VERSION_HEADER, SCHEMA_VERSION.encode()).decode(
        errors="replace"
    )
    if version != SCHEMA_VERSION:
        raise UndecodableEventError(f"unknown schema version {version!r}")
    event_type = header_map.get(EVENT_TYPE_HEADER)
    if (
        event_type is not None
        and event_type.decode(errors="replace") != message_type.DESCRIPTOR.full_name
    ):
        raise UndecodableEventError(f"unexpected event type {event_type!r}")
    if value is None:
        raise UndecodableEventError("record has no value")
    event = message_type()
    try:
        event.ParseFromString(value)
    except protobuf_message.DecodeError as error:
        raise UndecodableEventError(
            f"not a {message_type.DESCRIPTOR.full_name}: {error}"
        ) from error
    if not event.header.call_id:  # type: ignore[attr-defined]
        raise UndecodableEventError("event has no call id")
    return event
