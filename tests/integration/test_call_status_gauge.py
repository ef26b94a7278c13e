"""callscope_calls{status} counts the calls of each status in the calls collection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from callscope_common.mongo import Document
from callscope_ingest.adapters.status_gauge import count_calls_by_status, sampling_call_statuses
from callscope_ingest.domain.status import CallStatus
from pymongo.asynchronous.database import AsyncDatabase

from tests.support.polling import wait_for
from tests.support.scraped_metrics import scrape_this_process


@pytest.fixture
async def own_database(database: AsyncDatabase[Document]) -> AsyncIterator[AsyncDatabase[Document]]:
    """A database of this test's own, so that other tests' calls do not count."""
    name = f"{database.name}_gauge_{uuid.uuid4().hex[:8]}"
    yield database.client[name]
    await database.client.drop_database(name)


def _gauge() -> dict[str, float]:
    scrape = scrape_this_process()
    return {
        status.value: scrape.value("callscope_calls", status=status.value) for status in CallStatus
    }


async def test_each_status_is_counted_and_a_status_without_calls_reads_zero(
    own_database: AsyncDatabase[Document],
) -> None:
    statuses = ["COMPLETED", "COMPLETED", "FAILED", "TRANSCRIBING"]
    await own_database["calls"].insert_many(
        [{"_id": f"call-{index}", "status": status} for index, status in enumerate(statuses)]
    )
    expected = {status.value: statuses.count(status.value) for status in CallStatus}

    counted = await count_calls_by_status(own_database)
    assert {status.value: calls for status, calls in counted.items()} == expected

    async with sampling_call_statuses(own_database, interval_s=0.2):
        await wait_for(
            lambda: asyncio.sleep(0, _gauge() == expected), timeout_s=30, describe="the gauge"
        )
        await own_database["calls"].update_one({"_id": "call-3"}, {"$set": {"status": "ANALYZING"}})
        moved = {**expected, "TRANSCRIBING": 0, "ANALYZING": 1}
        await wait_for(
            lambda: asyncio.sleep(0, _gauge() == moved), timeout_s=30, describe="the move"
        )
