"""Fixtures shared by the end-to-end tests: an HTTP client and a store inspector."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.infra import Infra
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector, inspect_stores


@pytest.fixture(scope="session")
async def api(services: RunningServices) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway's REST API."""
    async with httpx.AsyncClient(base_url=services.gateway_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
async def stores(infra: Infra, services: RunningServices) -> AsyncIterator[StoreInspector]:
    """Looks into the database and bucket the services of this run use."""
    async with inspect_stores(infra, services.database, services.bucket) as inspector:
        yield inspector
