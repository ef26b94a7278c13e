"""Direct looks into MongoDB and S3, for asserting what was (or was not) stored."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiobotocore.session import get_session
from pymongo import AsyncMongoClient

from tests.support.infra import Infra


@dataclass
class StoreInspector:
    """Counts documents and objects a test run left behind."""

    mongo: AsyncMongoClient[dict[str, Any]]
    s3: Any
    database: str
    bucket: str

    async def count(self, collection: str, query: dict[str, Any] | None = None) -> int:
        """Documents in a collection of the run's database."""
        return await self.mongo[self.database][collection].count_documents(query or {})

    async def object_keys(self) -> list[str]:
        """Every object key in the run's bucket."""
        keys: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys


@contextlib.asynccontextmanager
async def inspect_stores(infra: Infra, database: str, bucket: str) -> AsyncIterator[StoreInspector]:
    """An inspector with its own clients, closed on exit."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    session = get_session()
    try:
        async with session.create_client(
            "s3",
            endpoint_url=infra.s3_endpoint_url,
            region_name=infra.s3_region,
            aws_access_key_id=infra.s3_access_key,
            aws_secret_access_key=infra.s3_secret_key,
        ) as s3:
            yield StoreInspector(mongo, s3, database, bucket)
    finally:
        await mongo.close()
