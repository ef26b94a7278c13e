"""A SERVER span per HTTP request, named by its route template (`POST /api/v1/calls/upload`).

Everything the request does (the gRPC calls to the other services, and through them the
Kafka stages) continues this span's trace. A request that sends a W3C `traceparent`
continues the caller's trace instead. Probes (`/healthz`, `/metrics`) are not traced.
The path's ids are recorded; the query string is not (it may carry a login token).
"""

from __future__ import annotations

from callscope_common.tracing import extract_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_UNTRACED_PATHS = frozenset({"/healthz", "/metrics"})


class HttpTracingMiddleware:
    """Pure ASGI middleware: streamed request and response bodies pass through untouched."""

    def __init__(self, app: ASGIApp, tracer_provider: TracerProvider | None = None) -> None:
        self._app = app
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs the request inside its span; the name gets the route once routing matched."""
        if scope["type"] != "http" or scope["path"] in _UNTRACED_PATHS:
            await self._app(scope, receive, send)
            return
        method: str = scope["method"]
        headers = ((name.decode("latin-1"), value) for name, value in scope["headers"])
        with self._tracer.start_as_current_span(
            method,
            context=extract_context(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status: int = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
                await send(message)

            try:
                await self._app(scope, receive, send_with_status)
            finally:
                # The router leaves the matched route in the scope (absent for a 404).
                template = getattr(scope.get("route"), "path", None)
                if template:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
