"""Spans around Kafka records: `<topic> publish` on the producer, `<topic> process` on the
consumer, the latter a child of the context the record's headers carry.

`events.encode` writes the current context into the headers, so an event encoded inside
a publish span (or stored in an outbox while a request's span was current) continues
that trace wherever it is consumed. With traces off these are the API's no-op spans.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from callscope.v1 import events_pb2
from google.protobuf import message as protobuf_message
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from callscope_common.events import topic_of
from callscope_common.tracing import (
    CALL_ID_ATTRIBUTE,
    CAMPAIGN_ID_ATTRIBUTE,
    extract_context,
)

_tracer = trace.get_tracer(__name__)


@contextlib.contextmanager
def publish_span(event: protobuf_message.Message) -> Iterator[Span]:
    """A PRODUCER span for sending one event; encode its record inside it."""
    topic = topic_of(type(event))
    with _tracer.start_as_current_span(
        f"{topic} publish",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
        },
    ) as span:
        header = getattr(event, "header", None)
        if isinstance(header, events_pb2.EventHeader):
            describe_event(span, header)
        yield span


@contextlib.contextmanager
def process_span(record: Any) -> Iterator[Span]:
    """A CONSUMER span for handling one record, continuing the trace its headers carry."""
    with _tracer.start_as_current_span(
        f"{record.topic} process",
        context=extract_context(list(record.headers or ())),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
        },
    ) as span:
        yield span


def describe_event(span: Span, header: events_pb2.EventHeader) -> None:
    """Names the call and campaign an event is about on its span (ids only)."""
    span.set_attribute(CALL_ID_ATTRIBUTE, header.call_id)
    if header.campaign_id:
        span.set_attribute(CAMPAIGN_ID_ATTRIBUTE, header.campaign_id)
    span.set_attribute("messaging.message.id", header.event_id)


def mark_dead_lettered(error: str) -> None:
    """Marks the current record's span failed: its record went to the DLQ."""
    span = trace.get_current_span()
    span.set_attribute("callscope.dead_lettered", True)
    span.set_status(Status(StatusCode.ERROR, error[:200]))
