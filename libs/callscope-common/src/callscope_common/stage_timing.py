"""Times a pipeline stage's Kafka handler into callscope_stage_seconds."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from callscope_common.kafka import PermanentEventError
from callscope_common.metrics import STAGE_SECONDS

EventT = TypeVar("EventT")


def timed_stage(
    stage: str, handler: Callable[[EventT], Awaitable[None]]
) -> Callable[[EventT], Awaitable[None]]:
    """The handler, recording each run's duration under the stage and the run's outcome.

    Outcomes: `ok` (returned), `rejected` (PermanentEventError: straight to the DLQ),
    `failed` (any other error: retried, then dead-lettered), `cancelled` (shutdown or a
    rebalance: the event is redelivered).
    """

    async def timed(event: EventT) -> None:
        started = time.perf_counter()
        outcome = "cancelled"
        try:
            await handler(event)
            outcome = "ok"
        except PermanentEventError:
            outcome = "rejected"
            raise
        except Exception:
            outcome = "failed"
            raise
        finally:
            STAGE_SECONDS.labels(stage, outcome).observe(time.perf_counter() - started)

    return timed
