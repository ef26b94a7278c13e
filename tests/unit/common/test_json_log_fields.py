"""Each JSON log line names the call, the campaign and, inside a recording span, the trace."""

from __future__ import annotations

import json
import logging
from typing import Any

from callscope_common.logging import JsonFormatter, bound_call_id, bound_campaign_id
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider


def _line(message: str) -> dict[str, Any]:
    record = logging.LogRecord("test", logging.INFO, __file__, 1, message, None, None)
    line: dict[str, Any] = json.loads(JsonFormatter("test").format(record))
    return line


def test_a_line_inside_a_span_carries_its_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = _line("working")

    context = span.get_span_context()
    assert line["trace_id"] == trace.format_trace_id(context.trace_id)
    assert line["span_id"] == trace.format_span_id(context.span_id)
    assert len(line["trace_id"]) == 32 and len(line["span_id"]) == 16


def test_a_line_outside_any_span_has_no_trace_ids() -> None:
    line = _line("idle")

    assert "trace_id" not in line and "span_id" not in line


def test_a_line_carries_the_bound_call_and_campaign() -> None:
    with bound_call_id("call-1"), bound_campaign_id("campaign-1"):
        inside = _line("handling")
    after = _line("done")

    assert (inside["call_id"], inside["campaign_id"]) == ("call-1", "campaign-1")
    assert "call_id" not in after and "campaign_id" not in after


def test_an_empty_campaign_adds_no_field() -> None:
    with bound_campaign_id(""):
        line = _line("handling")

    assert "campaign_id" not in line
