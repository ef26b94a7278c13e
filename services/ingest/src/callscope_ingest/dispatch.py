"""Sending a call's hand-over to the pipeline: at once, by the relay, or again by the watchdog.

The hand-over record is already stored with the call (domain/hand_over.py) when these
run, so none of them can lose a call: a send that fails is only a send that happens
later. Sending one record twice is harmless, because every stage is idempotent per
event id; that is what lets two ingest replicas relay or re-drive without
coordinating beyond the conditional update in `note_redrive`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from callscope_ingest.domain.calls import Call
from callscope_ingest.domain.hand_over import HandOver
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.domain.watchdog import Verdict, WatchdogRules, stuck_failure, verdict
from callscope_ingest.ports import CallStore, Publisher, StageBacklog

logger = logging.getLogger(__name__)

# How many calls one round of the relay or the watchdog looks at.
BATCH = 200


async def send_hand_over(
    call_id: str, hand_over: HandOver, calls: CallStore, publisher: Publisher, timeout_s: float
) -> bool:
    """Publishes the hand-over record and notes it sent; False (logged) when the broker did not
    take it within timeout_s, in which case the relay sends it later."""
    try:
        async with asyncio.timeout(timeout_s):
            await publisher.publish_record(hand_over.record)
    except Exception as error:  # the broker's errors, or TimeoutError
        logger.warning(
            "hand-over not sent yet, the relay will send it",
            extra={"call_id": call_id, "topic": hand_over.record.topic, "error": repr(error)},
        )
        return False
    await calls.mark_handed_over(call_id, hand_over.event_id)
    return True


@dataclass(frozen=True)
class RelayRules:
    """How old an unsent hand-over must be before the relay sends it, and how long a send
    may take."""

    # Younger hand-overs are still being sent by the request that stored them.
    grace_s: float = 15.0
    send_timeout_s: float = 5.0


async def relay_unpublished(
    calls: CallStore, publisher: Publisher, rules: RelayRules, now: dt.datetime
) -> int:
    """Sends the hand-overs the broker may not have; how many it sent.

    Stops at the first failure: the broker is unreachable, and the next round tries again.
    """
    sent = 0
    for call in await calls.unpublished(now - dt.timedelta(seconds=rules.grace_s), BATCH):
        assert call.hand_over is not None
        if not await send_hand_over(
            call.id, call.hand_over, calls, publisher, rules.send_timeout_s
        ):
            break
        sent += 1
        logger.info("hand-over relayed", extra={"call_id": call.id})
    return sent


@dataclass(frozen=True)
class WatchReport:
    """What one round of the watchdog did."""

    redriven: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    skipped_busy: bool = False


async def watch(
    *,
    calls: CallStore,
    publisher: Publisher,
    backlog: StageBacklog,
    rules: WatchdogRules,
    now: dt.datetime,
    send_timeout_s: float = 5.0,
) -> WatchReport:
    """Re-drives the calls whose run stopped moving, or fails them after too many re-drives.

    Nothing is judged while the stages have records queued: a call waiting behind a
    backlog is not stuck, and the calls ahead of it are moving. A call still stands
    still once the stages are idle only if its record is gone from their queues (dead-
    lettered, or its work lost), which is exactly what a re-drive repairs.
    """
    candidates = await calls.unmoved(now - dt.timedelta(seconds=rules.stale_after_s), BATCH)
    if not candidates:
        return WatchReport()
    if await backlog.queued_records() > 0:
        return WatchReport(skipped_busy=True)
    redriven: list[str] = []
    failed: list[str] = []
    for call in candidates:
        match verdict(call, now, rules):
            case Verdict.REDRIVE:
                if await _redrive(call, calls, publisher, now, send_timeout_s):
                    redriven.append(call.id)
            case Verdict.FAIL:
                if await _fail(call, calls, rules, now):
                    failed.append(call.id)
            case Verdict.WAIT:
                pass
    return WatchReport(redriven=tuple(redriven), failed=tuple(failed))


async def _redrive(
    call: Call, calls: CallStore, publisher: Publisher, now: dt.datetime, timeout_s: float
) -> bool:
    assert call.hand_over is not None
    if not await calls.note_redrive(call, now):
        return False  # it moved, or another replica re-drove it, since it was read
    logger.warning(
        "stuck call re-driven",
        extra={
            "call_id": call.id,
            "status": call.status.value,
            "redrive": call.hand_over.redrives + 1,
        },
    )
    await send_hand_over(call.id, call.hand_over, calls, publisher, timeout_s)
    return True


async def _fail(call: Call, calls: CallStore, rules: WatchdogRules, now: dt.datetime) -> bool:
    failure = stuck_failure(call, rules)
    moved = await calls.move_status(call.id, CallStatus.FAILED, now, failure=failure)
    if moved:
        logger.error(
            "stuck call failed",
            extra={"call_id": call.id, "status": call.status.value, "reason": failure.reason},
        )
    return moved
