"""When the watchdog waits, re-drives or fails a call (domain/watchdog.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from callscope.v1 import common_pb2, events_pb2
from callscope_common.events import new_header
from callscope_ingest.domain.calls import Call, UploadSource
from callscope_ingest.domain.hand_over import hand_over_of
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.domain.watchdog import Verdict, WatchdogRules, stuck_failure, verdict

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
RULES = WatchdogRules(stale_after_s=600, stale_per_audio_s=1.0, max_redrives=2)


def call(status: CallStatus, *, idle_s: float, duration_s: float = 60.0, redrives: int = 0) -> Call:
    event = events_pb2.CallUploaded(
        header=new_header("c1", "o1", "k1"), audio=common_pb2.ObjectRef(key="a")
    )
    hand_over = dataclasses.replace(hand_over_of(event, NOW), redrives=redrives)
    return Call(
        id="c1",
        org_id="o1",
        campaign_id="k1",
        source=UploadSource.API,
        file_name="a.wav",
        metadata=CallMetadata(),
        audio=None,
        duration_s=duration_s,
        channels=2,
        status=status,
        created_at=NOW - dt.timedelta(hours=5),
        updated_at=NOW - dt.timedelta(seconds=idle_s),
        queued_at=NOW - dt.timedelta(hours=5),
        hand_over=hand_over,
    )


@pytest.mark.parametrize(
    "status", [CallStatus.PENDING, CallStatus.TRANSCRIBING, CallStatus.ANALYZING]
)
def test_a_run_that_moved_within_its_allowance_is_left_alone(status: CallStatus) -> None:
    assert verdict(call(status, idle_s=659), NOW, RULES) is Verdict.WAIT


def test_the_allowance_grows_with_the_length_of_the_call() -> None:
    three_hours = 3 * 3600.0
    assert (
        verdict(call(CallStatus.TRANSCRIBING, idle_s=3600, duration_s=three_hours), NOW, RULES)
        is Verdict.WAIT
    )
    assert (
        verdict(call(CallStatus.TRANSCRIBING, idle_s=3600, duration_s=60), NOW, RULES)
        is Verdict.REDRIVE
    )


def test_a_stuck_run_is_re_driven_until_the_limit_then_failed() -> None:
    assert (
        verdict(call(CallStatus.ANALYZING, idle_s=700, redrives=1), NOW, RULES) is Verdict.REDRIVE
    )
    assert verdict(call(CallStatus.ANALYZING, idle_s=700, redrives=2), NOW, RULES) is Verdict.FAIL


@pytest.mark.parametrize("status", [CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.DUPLICATE])
def test_finished_calls_are_never_touched(status: CallStatus) -> None:
    assert verdict(call(status, idle_s=10**6), NOW, RULES) is Verdict.WAIT


def test_a_held_call_waits_for_a_person_not_for_the_watchdog() -> None:
    held = dataclasses.replace(call(CallStatus.PENDING, idle_s=10**6), queued_at=None)
    assert verdict(held, NOW, RULES) is Verdict.WAIT


def test_a_stuck_call_without_a_kept_hand_over_cannot_be_re_driven_and_fails() -> None:
    legacy = dataclasses.replace(call(CallStatus.TRANSCRIBING, idle_s=10**6), hand_over=None)
    assert verdict(legacy, NOW, RULES) is Verdict.FAIL


def test_the_failure_names_the_stage_the_time_and_what_to_do() -> None:
    analysing = stuck_failure(call(CallStatus.ANALYZING, idle_s=700, redrives=2), RULES)
    assert analysing.stage == "ANALYSIS"
    assert "11 min" in analysing.reason and "2 time(s)" in analysing.reason
    assert "re-run" in analysing.reason
    assert stuck_failure(call(CallStatus.PENDING, idle_s=700), RULES).stage == "TRANSCRIPTION"
