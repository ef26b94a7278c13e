"""The gateway counts and times requests by route template, never by raw path, and serves
its metrics at /metrics without a login."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import cast

import httpx
import pytest
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.http_api import create_app
from callscope_gateway.entrypoints.http_metrics import HttpMetricsMiddleware
from fastapi import FastAPI

from tests.support.scraped_metrics import Scrape, scrape_this_process

REQUESTS = "callscope_http_requests_total"
SECONDS = "callscope_http_request_seconds_count"


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    # Only requests that never reach the directory: the context is never used.
    app = create_app(cast(ApiContext, object()))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def _scrape(client: httpx.AsyncClient) -> Scrape:
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return Scrape(answer.text)


async def _moved(client: httpx.AsyncClient, before: Scrape, name: str, **labels: str) -> float:
    return (await _scrape(client)).value(name, **labels) - before.value(name, **labels)


async def test_a_request_with_an_id_counts_under_its_route_template(
    gateway: httpx.AsyncClient,
) -> None:
    call_id = uuid.uuid4().hex
    before = await _scrape(gateway)
    answer = await gateway.get(f"/api/v1/calls/{call_id}")  # no credentials
    assert answer.status_code == 401
    labels = {"method": "GET", "route": "/api/v1/calls/{call_id}"}
    assert await _moved(gateway, before, REQUESTS, status="401", **labels) == 1
    assert await _moved(gateway, before, SECONDS, **labels) == 1
    routes = (await _scrape(gateway)).label_values(REQUESTS, "route")
    assert all(call_id not in route for route in routes)


async def test_unknown_paths_and_methods_fall_into_fixed_labels(
    gateway: httpx.AsyncClient,
) -> None:
    before = await _scrape(gateway)
    assert (await gateway.get(f"/nowhere/{uuid.uuid4().hex}")).status_code == 404
    assert (await gateway.request("BREW", "/healthz")).status_code == 405
    assert (
        await _moved(gateway, before, REQUESTS, method="GET", route="unmatched", status="404") == 1
    )
    assert (
        await _moved(gateway, before, REQUESTS, method="OTHER", route="/healthz", status="405") == 1
    )


async def test_the_metrics_page_needs_no_login_and_counts_itself(
    gateway: httpx.AsyncClient,
) -> None:
    before = await _scrape(gateway)
    assert (
        await _moved(gateway, before, REQUESTS, method="GET", route="/metrics", status="200") == 1
    )


async def test_a_route_that_crashes_counts_as_the_500_the_server_answers() -> None:
    app = FastAPI()

    @app.get("/boom/{thing}")
    async def boom(thing: str) -> None:
        raise RuntimeError(thing)

    app.add_middleware(HttpMetricsMiddleware)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    labels = {"method": "GET", "route": "/boom/{thing}", "status": "500"}
    before = scrape_this_process().value(REQUESTS, **labels)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/boom/now")).status_code == 500
    assert scrape_this_process().value(REQUESTS, **labels) - before == 1
