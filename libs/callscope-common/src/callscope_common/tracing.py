"""OpenTelemetry traces: off by default, one setting turns them on; W3C trace context.

With `OTEL_TRACES_ENABLED=true` a service exports its spans over OTLP/HTTP (protobuf)
to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`
(the SDK reads both; its default is a collector on localhost:4318). Without it no SDK
provider is built: every tracer is the API's no-op tracer, which creates no spans and
exports nothing.

The carriers here move the `traceparent`/`tracestate` headers of the W3C trace context
in and out of Kafka record headers and gRPC metadata, so that one call's upload,
transcription and analysis form one trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

# Span attributes that say which call and campaign a span worked on (ids only, never
# transcript text or credentials).
CALL_ID_ATTRIBUTE = "callscope.call_id"
CAMPAIGN_ID_ATTRIBUTE = "callscope.campaign_id"

_PROPAGATOR = TraceContextTextMapPropagator()
# The headers the W3C propagator reads and writes ("traceparent", "tracestate").
TRACE_HEADERS = frozenset(_PROPAGATOR.fields)


class TracingSettings(BaseSettings):
    """The one switch for traces; where they go is the SDK's standard OTEL_EXPORTER_* vars."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    enabled: bool = Field(default=False, validation_alias="OTEL_TRACES_ENABLED")


@dataclass(frozen=True)
class Tracing:
    """The tracer provider a service set up, or nothing when traces are off."""

    provider: TracerProvider | None = None

    def shutdown(self) -> None:
        """Exports the spans still queued, then stops the exporter (no-op when off)."""
        if self.provider is not None:
            self.provider.shutdown()


def configure_tracing(service: str, settings: TracingSettings) -> Tracing:
    """Installs an SDK tracer provider exporting over OTLP/HTTP when traces are enabled;
    otherwise leaves the API's no-op provider in place and loads none of the SDK."""
    if not settings.enabled:
        return Tracing()
    # Imported here: the SDK and the exporter (with its HTTP client) take ~0.15 s to load.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"callscope-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return Tracing(provider)


def tracing_enabled() -> bool:
    """Whether this process exports spans (configure_tracing installed an SDK provider)."""
    return not isinstance(
        trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
    )


def trace_context_pairs() -> list[tuple[str, str]]:
    """The current span's trace context as name/value pairs, e.g. gRPC metadata (empty if
    no span is current)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return list(carrier.items())


def inject_into_headers(headers: list[tuple[str, bytes]]) -> None:
    """Appends the current span's trace context to Kafka record headers (nothing if none)."""
    headers.extend((name, value.encode()) for name, value in trace_context_pairs())


def extract_context(pairs: Iterable[tuple[str, str | bytes]]) -> otel_context.Context:
    """The trace context among name/value pairs (an empty context if they carry none).

    Kafka record headers, gRPC metadata and ASGI headers (decoded names) all arrive as
    such pairs, with lower-case names.
    """
    carrier = {
        name: value.decode(errors="replace") if isinstance(value, bytes) else value
        for name, value in pairs
        if name in TRACE_HEADERS
    }
    return _PROPAGATOR.extract(carrier)
