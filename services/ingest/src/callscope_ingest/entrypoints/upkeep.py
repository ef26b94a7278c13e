"""Ingest's background rounds: the outbox relay, the stuck-call watchdog, orphaned uploads.

Each runs forever at its interval; a round that fails (MongoDB or Kafka unreachable)
is logged and the next round tries again, so an outage never ends the service.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from callscope_ingest.dispatch import RelayRules, relay_unpublished, watch
from callscope_ingest.domain.watchdog import WatchdogRules
from callscope_ingest.job_handlers import recover_orphaned_uploads
from callscope_ingest.ports import CallStore, JobStore, Publisher, StageBacklog

logger = logging.getLogger(__name__)


async def run_relay(
    calls: CallStore, publisher: Publisher, rules: RelayRules, interval_s: float
) -> None:
    """Sends unsent hand-overs every interval_s."""

    async def round_() -> None:
        await relay_unpublished(calls, publisher, rules, dt.datetime.now(dt.UTC))

    await _every(interval_s, "outbox relay", round_)


async def run_watchdog(
    *,
    calls: CallStore,
    publisher: Publisher,
    backlog: StageBacklog,
    rules: WatchdogRules,
    interval_s: float,
    send_timeout_s: float,
) -> None:
    """Re-drives or fails stuck calls every interval_s."""

    async def round_() -> None:
        report = await watch(
            calls=calls,
            publisher=publisher,
            backlog=backlog,
            rules=rules,
            now=dt.datetime.now(dt.UTC),
            send_timeout_s=send_timeout_s,
        )
        if report.redriven or report.failed:
            logger.info(
                "watchdog round",
                extra={"redriven": len(report.redriven), "failed": len(report.failed)},
            )

    await _every(interval_s, "watchdog", round_)


async def run_upload_sweep(jobs: JobStore, stale_after_s: float, interval_s: float) -> None:
    """Settles job items whose ingest died mid-file, every interval_s."""

    async def round_() -> None:
        await recover_orphaned_uploads(jobs, stale_after_s, dt.datetime.now(dt.UTC))

    await _every(interval_s, "orphaned upload sweep", round_)


async def _every(interval_s: float, name: str, round_: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await round_()
        except Exception:
            logger.exception("%s round failed; the next one tries again", name)
