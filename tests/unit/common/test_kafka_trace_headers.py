"""The trace context rides in Kafka record headers (`traceparent`, `tracestate`) from the
encoding of an event to the handling of its record; with traces off nothing is added."""

from __future__ import annotations

import pytest
from aiokafka import ConsumerRecord
from callscope.v1 import events_pb2
from callscope_common.events import EncodedEvent, decode, encode, new_header
from callscope_common.kafka_tracing import process_span
from callscope_common.tracing import (
    TracingSettings,
    configure_tracing,
    extract_context,
    tracing_enabled,
)
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanContext


@pytest.fixture
def provider() -> TracerProvider:
    """A provider of this test's own, never installed globally (other tests stay untraced)."""
    return TracerProvider()


def _uploaded() -> events_pb2.CallUploaded:
    return events_pb2.CallUploaded(header=new_header("call-1", "org-1", "campaign-1"))


def _as_consumed(record: EncodedEvent) -> ConsumerRecord[bytes, bytes]:
    """The record as a consumer receives it from the broker."""
    return ConsumerRecord(
        topic=record.topic,
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=record.key,
        value=record.value,
        checksum=None,
        serialized_key_size=len(record.key),
        serialized_value_size=len(record.value),
        headers=tuple(record.headers),
    )


def _span_context(record: EncodedEvent) -> SpanContext:
    return trace.get_current_span(extract_context(record.headers)).get_span_context()


def test_an_event_encoded_inside_a_span_carries_that_span(provider: TracerProvider) -> None:
    with provider.get_tracer("test").start_as_current_span("upload") as upload:
        record = encode(_uploaded())

    carried = _span_context(record)
    assert carried.is_remote
    assert carried.trace_id == upload.get_span_context().trace_id
    assert carried.span_id == upload.get_span_context().span_id
    # The trace headers do not disturb decoding.
    assert decode(events_pb2.CallUploaded, record.value, record.headers).header.call_id == "call-1"


def test_an_event_encoded_outside_any_span_carries_no_trace_headers() -> None:
    names = [name for name, _ in encode(_uploaded()).headers]

    assert names == ["event-type", "schema-version"]
    assert not _span_context(encode(_uploaded())).is_valid


def test_the_handler_of_a_record_runs_in_the_producers_trace(provider: TracerProvider) -> None:
    with provider.get_tracer("test").start_as_current_span("upload") as upload:
        record = encode(_uploaded())

    with process_span(_as_consumed(record)):
        handling = trace.get_current_span().get_span_context()

    assert handling.trace_id == upload.get_span_context().trace_id


def test_the_trace_context_survives_a_stored_record(provider: TracerProvider) -> None:
    """An outbox keeps value and headers; the relay sends them later, outside any span."""
    with provider.get_tracer("test").start_as_current_span("upload") as upload:
        stored = encode(_uploaded())
    relayed = EncodedEvent(stored.topic, stored.key, stored.value, list(stored.headers))

    with process_span(_as_consumed(relayed)):
        handling = trace.get_current_span().get_span_context()

    assert handling.trace_id == upload.get_span_context().trace_id


@pytest.fixture
def no_tracing_settings(monkeypatch: pytest.MonkeyPatch) -> TracingSettings:
    monkeypatch.delenv("OTEL_TRACES_ENABLED", raising=False)
    return TracingSettings()


def test_traces_are_off_by_default(no_tracing_settings: TracingSettings) -> None:
    tracing = configure_tracing("test", no_tracing_settings)

    assert tracing.provider is None
    assert not tracing_enabled()
    with trace.get_tracer("test").start_as_current_span("anything") as span:
        assert not span.is_recording()
        assert [name for name, _ in encode(_uploaded()).headers] == [
            "event-type",
            "schema-version",
        ]
    tracing.shutdown()


def test_one_setting_turns_traces_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_ENABLED", "true")

    assert TracingSettings().enabled
