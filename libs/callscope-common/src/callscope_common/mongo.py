"""MongoDB client factory (PyMongo's async API; works against FerretDB and MongoDB)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from callscope_common.settings import InfraSettings

Document = dict[str, Any]


def create_mongo_client(settings: InfraSettings, app_name: str) -> AsyncMongoClient[Document]:
    """One client per process; close it on shutdown."""
    return AsyncMongoClient(
        settings.mongodb_url.get_secret_value(),
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=10_000,
    )


def service_database(
    client: AsyncMongoClient[Document], settings: InfraSettings
) -> AsyncDatabase[Document]:
    """The database holding this deployment's collections."""
    return client[settings.mongodb_database]
