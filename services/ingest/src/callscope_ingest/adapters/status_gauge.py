"""Samples how many calls are in each status into callscope_calls{status}.

One `$group` count over the calls collection every interval (indexed on status); every
status is set each round, 0 when no call has it, so a status that empties reads 0 rather
than its last count. A failed round (the database restarting) is logged and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from callscope_common.metrics import CALLS
from callscope_common.mongo import Document
from pymongo.asynchronous.database import AsyncDatabase

from callscope_ingest.domain.status import CallStatus

logger = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 10.0


async def count_calls_by_status(database: AsyncDatabase[Document]) -> dict[CallStatus, int]:
    """How many calls each status has now (every status present, 0 when none)."""
    counts = dict.fromkeys(CallStatus, 0)
    rows = await database["calls"].aggregate([{"$group": {"_id": "$status", "calls": {"$sum": 1}}}])
    async for row in rows:
        if row["_id"] in CallStatus.__members__:
            counts[CallStatus(row["_id"])] = int(row["calls"])
    return counts


async def _sample_forever(database: AsyncDatabase[Document], interval_s: float) -> None:
    while True:
        try:
            for status, calls in (await count_calls_by_status(database)).items():
                CALLS.labels(status.value).set(calls)
        except Exception as error:
            logger.warning("calls by status not sampled this round", extra={"error": str(error)})
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def sampling_call_statuses(
    database: AsyncDatabase[Document], interval_s: float = SAMPLE_INTERVAL_S
) -> AsyncIterator[None]:
    """Keeps callscope_calls{status} current while the block runs."""
    sampler = asyncio.create_task(_sample_forever(database, interval_s), name="calls by status")
    try:
        yield
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
