"""Counts and times every HTTP request by method, route template and status.

The route is the template the router matched (`/api/v1/calls/{call_id}`), never the raw
path: ids in paths would give every call its own time series. A request no route matched
is `unmatched`; a method outside HTTP's standard ones is `OTHER`.
"""

from __future__ import annotations

import time

from callscope_common.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


class HttpMetricsMiddleware:
    """Pure ASGI middleware: streamed request and response bodies pass through untouched.

    The time runs until the last byte of the answer was handed to the server; a request
    that fails before answering counts as the 500 the server sends for it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs the request, then records it under the route the router matched."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_noting_status)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = route_template(scope)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route the router left in the scope, or `unmatched`."""
    template = getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) and template else UNMATCHED
