"""A stage's handler runs are timed under the outcome each run had."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from callscope_common.kafka import PermanentEventError
from callscope_common.stage_timing import timed_stage

from tests.support.scraped_metrics import scrape_this_process


async def _handler(event: str) -> None:
    if event == "unknown call":
        raise PermanentEventError("no such call")
    if event == "database down":
        raise RuntimeError("database down")
    if event == "shutdown":
        raise asyncio.CancelledError


def _runs(stage: str, outcome: str) -> float:
    return scrape_this_process().value(
        "callscope_stage_seconds_count", stage=stage, outcome=outcome
    )


@pytest.mark.parametrize(
    ("event", "outcome", "error"),
    [
        ("fine", "ok", None),
        ("unknown call", "rejected", PermanentEventError),
        ("database down", "failed", RuntimeError),
        ("shutdown", "cancelled", asyncio.CancelledError),
    ],
)
async def test_each_run_is_recorded_under_its_outcome_and_errors_pass_through(
    event: str, outcome: str, error: type[BaseException] | None
) -> None:
    stage = f"stage-{uuid.uuid4().hex[:8]}"
    timed = timed_stage(stage, _handler)
    if error is None:
        await timed(event)
    else:
        with pytest.raises(error):
            await timed(event)
    assert _runs(stage, outcome) == 1
    assert scrape_this_process().value("callscope_stage_seconds_count", stage=stage) == 1
