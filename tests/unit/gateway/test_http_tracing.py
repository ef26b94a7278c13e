"""The gateway's HTTP span: one per request, named by the route template, continuing a
caller's W3C trace context when one is sent; probes are not traced."""

from __future__ import annotations

import httpx
import pytest
from callscope_gateway.entrypoints.http_tracing import HttpTracingMiddleware
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def client(exporter: InMemorySpanExporter) -> httpx.AsyncClient:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()

    @app.get("/api/v1/calls/{call_id}")
    async def get_call(call_id: str) -> dict[str, str]:
        return {"id": call_id}

    @app.get("/api/v1/broken")
    async def broken() -> JSONResponse:
        return JSONResponse({"error": "down"}, 503)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(HttpTracingMiddleware, tracer_provider=provider)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


def _only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


async def test_a_request_span_is_named_by_its_route_template(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    response = await client.get("/api/v1/calls/c-42")

    assert response.json() == {"id": "c-42"}
    span = _only_span(exporter)
    assert span.name == "GET /api/v1/calls/{call_id}"
    assert span.kind == SpanKind.SERVER
    assert span.parent is None
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/api/v1/calls/{call_id}"
    assert span.attributes["url.path"] == "/api/v1/calls/c-42"
    assert span.attributes["http.response.status_code"] == 200


async def test_a_request_with_a_traceparent_continues_the_callers_trace(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    await client.get(
        "/api/v1/calls/c-42", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
    )

    span = _only_span(exporter)
    assert span.context.trace_id == int(CALLER_TRACE, 16)
    assert span.parent is not None and span.parent.span_id == int(CALLER_SPAN, 16)


async def test_a_server_error_marks_the_span_failed(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    await client.get("/api/v1/broken")

    assert _only_span(exporter).status.status_code == StatusCode.ERROR


async def test_an_unknown_path_keeps_the_bare_method_as_name(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    response = await client.get("/nowhere/at/all")

    assert response.status_code == 404
    span = _only_span(exporter)
    assert span.name == "GET"
    assert span.attributes is not None and "http.route" not in span.attributes


async def test_probes_are_not_traced(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    assert (await client.get("/healthz")).status_code == 200

    assert exporter.get_finished_spans() == ()
