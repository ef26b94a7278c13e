"""The public REST API `/api/v1/...`: the application, its routers and its error shapes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.errors import HTTP_STATUS
from callscope_gateway.entrypoints.routes import (
    agents,
    api_keys,
    auth,
    calls,
    campaigns,
    checks,
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


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    )
    return JSONResponse({"error": {"code": "invalid_request", "message": problems}}, 422)


_LANDING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Callscope</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Callscope</h1>
<p>The REST API is running. The web application is not built yet.</p>
<ul><li><code>POST /api/v1/calls/upload</code> with <code>X-API-Key</code> and a
multipart <code>file</code></li>
<li><code>GET /api/v1/calls/{id}</code>, <code>/transcript</code>, <code>/analysis</code></li>
<li><a href="/openapi.json">OpenAPI description</a></li></ul></body></html>"""


def create_app(context: ApiContext) -> FastAPI:
    """The FastAPI application with its routes and error mapping."""
    app = FastAPI(title="Callscope API", version="1", docs_url=None, redoc_url=None)
    app.state.api = context
    app.include_router(calls.router)
    app.include_router(jobs_router)
    for router in (
        auth.router,
        users.router,
        campaigns.router,
        checks.router,
        api_keys.router,
        agents.router,
        sftp.router,
    ):
        app.include_router(router)
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    async def landing() -> str:
        return _LANDING_PAGE

    return app
