"""Expiring documents: a TTL index where the server has them, an index for explicit purges always.

MongoDB removes documents past their `expires_at` through a TTL index. FerretDB 1.x
answers `NotImplemented` to `expireAfterSeconds`, so on it the stores that expire
documents also delete expired ones themselves (see their `purge_*` methods); readers
never trust an expired document in either case, because a TTL monitor runs only
about once a minute.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

logger = logging.getLogger(__name__)


async def ensure_expiry_index(collection: AsyncCollection[dict[str, Any]], field: str) -> bool:
    """Creates a TTL index on field (documents expire at that time); False when unsupported."""
    try:
        await collection.create_index(field, expireAfterSeconds=0, name=f"{field}_ttl")
    except OperationFailure as error:
        logger.info(
            "no TTL index; expired documents are purged by the gateway",
            extra={"collection": collection.name, "reason": str(error.details or error)},
        )
        await collection.create_index(field, name=f"{field}_purge")
        return False
    return True
