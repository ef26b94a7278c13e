"""Real-server fixtures for integration tests: a private database and bucket per session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from callscope_common.mongo import Document
from callscope_common.settings import InfraSettings
from callscope_common.storage import S3ObjectStore, open_object_store
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.support.infra import Infra


@pytest.fixture(scope="session")
def infra_settings(infra: Infra, run_id: str) -> InfraSettings:
    """Settings pointing at the real servers, with this session's database and bucket."""
    return InfraSettings.model_validate(
        infra.environment(database=f"it_{run_id}", bucket=f"it-{run_id}")
    )


@pytest.fixture(scope="session")
async def database(infra_settings: InfraSettings) -> AsyncIterator[AsyncDatabase[Document]]:
    """This session's database on the MongoDB-wire server."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra_settings.mongodb_url.get_secret_value(), tz_aware=True
    )
    try:
        yield client[infra_settings.mongodb_database]
    finally:
        await client.close()


@pytest.fixture(scope="session")
async def object_store(infra_settings: InfraSettings) -> AsyncIterator[S3ObjectStore]:
    """This session's bucket on the S3 server."""
    async with open_object_store(infra_settings) as store:
        await store.ensure_bucket()
        yield store
