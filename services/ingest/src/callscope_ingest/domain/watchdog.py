"""When a call in the pipeline counts as stuck, and what the watchdog does about it.

A call's stage has made no progress when its status has not changed (and it was not
re-driven) for longer than its allowance: a fixed time plus a share of the call's
length, since a 3-hour call legitimately transcribes far longer than a 1-minute one.
A stuck call is re-driven (its hand-over record sent again; every stage is idempotent
per event, so work already done is only announced again) at most `max_redrives`
times; after that it is FAILED with a reason its user can act on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from callscope_ingest.domain.calls import Call, Failure
from callscope_ingest.domain.status import CallStatus

WATCHED_STATUSES = frozenset({CallStatus.PENDING, CallStatus.TRANSCRIBING, CallStatus.ANALYZING})


@dataclass(frozen=True)
class WatchdogRules:
    """How long a run may stand still, and how often it is pushed again."""

    stale_after_s: float = 600.0
    # Extra allowance per second of audio.
    stale_per_audio_s: float = 1.0
    max_redrives: int = 3

    def allowance(self, call: Call) -> dt.timedelta:
        """How long this call may go without progress before it counts as stuck."""
        return dt.timedelta(seconds=self.stale_after_s + self.stale_per_audio_s * call.duration_s)


class Verdict(StrEnum):
    """What the watchdog does with a call it looked at."""

    WAIT = "WAIT"
    REDRIVE = "REDRIVE"
    FAIL = "FAIL"


def verdict(call: Call, now: dt.datetime, rules: WatchdogRules) -> Verdict:
    """WAIT while the call moves (or is not the pipeline's), REDRIVE when stuck, FAIL at last."""
    if call.status not in WATCHED_STATUSES or call.queued_at is None:
        return Verdict.WAIT  # finished, or held until someone processes it
    if now - call.updated_at < rules.allowance(call):
        return Verdict.WAIT
    if call.hand_over is None or call.hand_over.redrives >= rules.max_redrives:
        return Verdict.FAIL
    return Verdict.REDRIVE


def stuck_failure(call: Call, rules: WatchdogRules) -> Failure:
    """Why a stuck call failed, with its stage, in words its user can act on."""
    stage = "ANALYSIS" if call.status is CallStatus.ANALYZING else "TRANSCRIPTION"
    waited = round(rules.allowance(call).total_seconds() / 60)
    redrives = call.hand_over.redrives if call.hand_over else 0
    return Failure(
        stage=stage,
        reason=(
            f"processing stopped: the call made no progress while {call.status.value.lower()} "
            f"for {waited} min, {redrives} time(s) in a row after being sent again; "
            "re-run it, and tell an administrator if it happens again"
        ),
    )
