"""With traces on, one uploaded call is one trace: the gateway's HTTP span is its root, and
the spans of ingest, transcription and analysis (gRPC and Kafka alike) hang below it.

The services of this module run as a stack of their own (traces are off in the shared
one), exporting over OTLP/HTTP to a stand-in collector (tests/support/fake_otlp.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import PROCESSING_TIMEOUT_S
from tests.support.audio import RenderedAudio
from tests.support.fake_otlp import FakeOtlpCollector, ReceivedSpan
from tests.support.infra import Infra
from tests.support.polling import wait_for
from tests.support.scripts import COMPLIANT
from tests.support.services import RunningServices, start_services

PIPELINE_SERVICES = {
    "callscope-gateway",
    "callscope-ingest",
    "callscope-transcription",
    "callscope-analysis",
}
UPLOAD_SPAN = "POST /api/v1/calls/upload"


@pytest.fixture(scope="module")
def collector() -> Iterator[FakeOtlpCollector]:
    with FakeOtlpCollector() as running:
        yield running


@pytest.fixture(scope="module")
async def traced_services(
    infra: Infra, run_id: str, collector: FakeOtlpCollector
) -> AsyncIterator[RunningServices]:
    """The five services with traces on, exporting to the stand-in collector."""
    data_dir = Path(os.environ.get("CALLSCOPE_DATA_DIR", ROOT / ".local" / "data" / "test"))
    traced_run = f"{run_id}tr"
    settings = {
        "OTEL_TRACES_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.traces_url,
        # Export every 200 ms rather than every 5 s, so the test waits less.
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    running = await start_services(infra, data_dir / "logs" / traced_run, traced_run, settings)
    try:
        yield running
    finally:
        running.stop()


async def _upload_and_finish(services: RunningServices, audio: RenderedAudio) -> str:
    """Uploads a call through the REST API and waits until it is COMPLETED; its id."""
    headers = {"X-API-Key": services.api_key}
    async with httpx.AsyncClient(base_url=services.gateway_url, timeout=60) as api:
        with audio.path.open("rb") as handle:
            response = await api.post(
                "/api/v1/calls/upload",
                headers=headers,
                files={"file": ("traced.wav", handle, "audio/wav")},
            )
        assert response.status_code == 201, response.text
        call_id: str = response.json()["id"]

        async def finished() -> dict[str, Any] | None:
            call: dict[str, Any] = (
                await api.get(f"/api/v1/calls/{call_id}", headers=headers)
            ).json()
            return call if call["status"] in {"COMPLETED", "FAILED"} else None

        call = await wait_for(finished, timeout_s=PROCESSING_TIMEOUT_S, describe="the call")
    assert call["status"] == "COMPLETED", call
    return call_id


def _pipeline_spans_of(spans: list[ReceivedSpan], call_id: str) -> list[ReceivedSpan]:
    """The Kafka spans about the call (its status polls are gRPC spans of their own traces)."""
    return [
        span
        for span in spans
        if span.attributes.get("callscope.call_id") == call_id
        and span.kind in {"PRODUCER", "CONSUMER"}
    ]


async def _trace_with_ingests_last_step(
    collector: FakeOtlpCollector, call_id: str
) -> list[ReceivedSpan] | None:
    """The call's trace once ingest's handling of `calls.analyzed` (its last span) arrived."""
    spans = collector.spans()
    last = [
        span
        for span in _pipeline_spans_of(spans, call_id)
        if span.service == "callscope-ingest" and span.name == "calls.analyzed process"
    ]
    if not last:
        return None
    return [span for span in spans if span.trace_id == last[0].trace_id]


async def test_one_call_is_one_trace_rooted_at_its_http_upload(
    traced_services: RunningServices,
    collector: FakeOtlpCollector,
    rendered: dict[str, RenderedAudio],
) -> None:
    call_id = await _upload_and_finish(traced_services, rendered["compliant"])

    trace = await wait_for(
        lambda: _trace_with_ingests_last_step(collector, call_id),
        timeout_s=60,
        describe="the call's spans at the collector",
    )
    # The spans of a trace arrive in batches from five processes: wait for the whole tree.
    trace = await wait_for(
        lambda: _complete(collector, trace[0].trace_id),
        timeout_s=60,
        describe="every parent span of the call's trace",
    )

    (root,) = [span for span in trace if not span.parent_span_id]
    assert (root.service, root.name, root.kind) == ("callscope-gateway", UPLOAD_SPAN, "SERVER")
    assert root.attributes["http.response.status_code"] == "201"
    assert {span.service for span in trace} >= PIPELINE_SERVICES
    # Every stage's work on this call, in any service, is in this one trace.
    pipeline = _pipeline_spans_of(collector.spans(), call_id)
    assert {span.trace_id for span in pipeline} == {root.trace_id}
    consumed = {(s.service, s.name) for s in trace if s.kind == "CONSUMER"}
    assert {
        ("callscope-transcription", "calls.uploaded process"),
        ("callscope-analysis", "calls.transcribed process"),
        ("callscope-ingest", "calls.analyzed process"),
    } <= consumed
    # The upload crosses from gateway to ingest over gRPC: client span, then server span.
    by_id = {span.span_id: span for span in trace}
    (ingest_upload,) = [
        s for s in trace if s.name == "callscope.v1.Ingest/UploadCall" and s.kind == "SERVER"
    ]
    client = by_id[ingest_upload.parent_span_id]
    assert (client.service, client.kind) == ("callscope-gateway", "CLIENT")
    # Transcription's work continues the trace from ingest's side of the upload.
    (transcribing,) = [s for s in trace if s.name == "calls.uploaded process"]
    assert by_id[transcribing.parent_span_id].service == "callscope-ingest"
    # Spans carry ids, never what was said.
    attributes = " ".join(value for s in trace for value in s.attributes.values()).lower()
    for line in COMPLIANT.dialogue.lines:
        assert " ".join(line.text.lower().split()[:4]) not in attributes


async def _complete(collector: FakeOtlpCollector, trace_id: str) -> list[ReceivedSpan] | None:
    """The trace's spans once every span's parent has arrived too (one root, no orphans)."""
    trace = [span for span in collector.spans() if span.trace_id == trace_id]
    ids = {span.span_id for span in trace}
    orphans = [s for s in trace if s.parent_span_id and s.parent_span_id not in ids]
    return None if orphans else trace
