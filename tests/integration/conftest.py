"""Real-server fixtures for integration tests: a private database and bucket per session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from callscope_common.kafka import EventPublisher, create_producer
from callscope_common.mongo import Document
from callscope_common.settings import InfraSettings
from callscope_common.storage import S3ObjectStore, open_object_store
from callscope_ingest.adapters.ffprobe import FfprobeAudioProber
from callscope_ingest.adapters.mongo import MongoCallStore, MongoFingerprintStore
from callscope_ingest.adapters.mongo_jobs import MongoJobStore
from callscope_ingest.handlers import IngestPorts
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.support.infra import Infra
from tests.support.ingest_ports import AUTO, NO_AGENTS


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


@pytest.fixture
async def publisher(infra: Infra) -> AsyncIterator[EventPublisher]:
    """A real Kafka producer."""
    producer = create_producer(infra.kafka_bootstrap_servers, "it-ingest")
    await producer.start()
    yield EventPublisher(producer)
    await producer.stop()


@pytest.fixture
async def calls(database: AsyncDatabase[Document]) -> MongoCallStore:
    """Ingest's call store on the real database."""
    store = MongoCallStore(database)
    await store.ensure_indexes()
    return store


@pytest.fixture
async def fingerprints(database: AsyncDatabase[Document]) -> MongoFingerprintStore:
    """Ingest's fingerprint store on the real database."""
    store = MongoFingerprintStore(database)
    await store.ensure_indexes()
    return store


@pytest.fixture
async def jobs(database: AsyncDatabase[Document]) -> MongoJobStore:
    """Ingest's job store on the real database."""
    store = MongoJobStore(database)
    await store.ensure_indexes()
    return store


@pytest.fixture
def ports(
    calls: MongoCallStore,
    object_store: S3ObjectStore,
    publisher: EventPublisher,
    fingerprints: MongoFingerprintStore,
    jobs: MongoJobStore,
) -> IngestPorts:
    """Real MongoDB, S3 and Kafka adapters; campaigns auto-process, no agents, unless a
    test replaces them."""
    return IngestPorts(
        calls=calls,
        audio=object_store,
        prober=FfprobeAudioProber(),
        publisher=publisher,
        fingerprints=fingerprints,
        jobs=jobs,
        campaigns=AUTO,
        agents=NO_AGENTS,
    )
