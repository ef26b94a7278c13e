"""Structured JSON logging: every line carries the current call and campaign ids and, when a
span is recording, its trace and span ids (hex, as trace back ends show them)."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)
_campaign_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "campaign_id", default=None
)

# Attributes every LogRecord has; anything else was passed through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        """Renders the record, its extras, the bound ids and the current span's ids as JSON."""
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        call_id = _call_id.get()
        if call_id:
            line["call_id"] = call_id
        campaign_id = _campaign_id.get()
        if campaign_id:
            line["campaign_id"] = campaign_id
        span = trace.get_current_span()
        if span.is_recording():
            span_context = span.get_span_context()
            line["trace_id"] = trace.format_trace_id(span_context.trace_id)
            line["span_id"] = trace.format_span_id(span_context.span_id)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Sends every logger's output to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "botocore", "aiobotocore", "pymongo", "faster_whisper"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def bound_call_id(call_id: str) -> Iterator[None]:
    """Attaches call_id to every log line written inside the block."""
    token = _call_id.set(call_id)
    try:
        yield
    finally:
        _call_id.reset(token)


@contextlib.contextmanager
def bound_campaign_id(campaign_id: str) -> Iterator[None]:
    """Attaches campaign_id to every log line written inside the block (nothing if empty)."""
    token = _campaign_id.set(campaign_id or None)
    try:
        yield
    finally:
        _campaign_id.reset(token)
