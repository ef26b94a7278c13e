"""The public REST API `/api/v1/...` and the web application (`/`, `/static`): the
application, its routers, its error shapes and the browser security headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from callscope_common.metrics import exposition
from callscope_common.tracing import tracing_enabled
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response as StarletteResponse

from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints import openapi
from callscope_gateway.entrypoints.audit import AuditMiddleware
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.errors import HTTP_STATUS
from callscope_gateway.entrypoints.http_metrics import HttpMetricsMiddleware
from callscope_gateway.entrypoints.http_tracing import HttpTracingMiddleware
from callscope_gateway.entrypoints.routes import (
    agents,
    api_keys,
    audit_log,
    auth,
    calls,
    campaigns,
    checks,
    dashboard,
    review,
    sftp,
    users,
)
from callscope_gateway.entrypoints.routes.jobs import router as jobs_router


async def _gateway_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, GatewayError)
    status = HTTP_STATUS.get(error.code, 400)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "X-API-Key" if error.code == "invalid_api_key" else "Bearer"
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, error.retry_after_s))
    return JSONResponse(
        {"error": {"code": error.code, "message": error.message}}, status, headers=headers
    )


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = "not_found" if error.status_code == 404 else "http_error"
    return JSONResponse({"error": {"code": code, "message": str(error.detail)}}, error.status_code)


async def _unexpected_error(_: Request, error: Exception) -> JSONResponse:
    # Our own bug: the client gets the API's error shape, never a trace; the server logs it.
    return JSONResponse(
        {
            "error": {
                "code": "internal_error",
                "message": "the request failed on our side; it is logged; try again later",
            }
        },
        500,
    )


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    )
    return JSONResponse({"error": {"code": "invalid_request", "message": problems}}, 422)


_WEB = Path(__file__).resolve().parent.parent / "web"

# The web application loads only its own scripts and styles; nothing may frame it.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[StarletteResponse]]
) -> StarletteResponse:
    response = await call_next(request)
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def create_app(context: ApiContext) -> FastAPI:
    """The FastAPI application with its routes and error mapping."""
    app = FastAPI(title="Callscope API", version="1", docs_url=None, redoc_url=None)
    app.state.api = context
    app.include_router(calls.router)
    app.include_router(jobs_router)
    for router in (
        auth.router,
        users.router,
        audit_log.router,
        campaigns.router,
        checks.router,
        api_keys.router,
        agents.router,
        sftp.router,
        dashboard.router,
        review.router,
    ):
        app.include_router(router)
    # Records audited routes' successful answers (domain/audit.py's table).
    app.add_middleware(AuditMiddleware)
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
    openapi.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Like /healthz, no login: Prometheus scrapes it; keep it off the public ingress.
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> StarletteResponse:
        body, content_type = exposition()
        return StarletteResponse(body, media_type=content_type)

    @app.get("/", include_in_schema=False)
    async def web_application() -> FileResponse:
        return FileResponse(_WEB / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=_WEB / "static"), name="static")
    app.middleware("http")(_security_headers)
    # Around every other middleware, so that the requests they refuse are counted too.
    app.add_middleware(HttpMetricsMiddleware)
    # Outermost, so that every other middleware and route runs inside the request's span.
    if tracing_enabled():
        app.add_middleware(HttpTracingMiddleware)

    return app
