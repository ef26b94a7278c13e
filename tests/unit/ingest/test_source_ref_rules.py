"""The answer to a repeated upload is the first answer: the status the call was registered with."""

from __future__ import annotations

import dataclasses
import datetime as dt

from callscope_ingest.domain.calls import Call, UploadSource, registered_status
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def call(*history: CallStatus) -> Call:
    return Call(
        id="call-1",
        org_id="org-1",
        campaign_id="campaign-1",
        source=UploadSource.SFTP,
        file_name="a.wav",
        metadata=CallMetadata(),
        audio=None,
        duration_s=12.0,
        channels=2,
        status=history[-1],
        created_at=AT,
        updated_at=AT,
        status_history=tuple((status, AT) for status in history),
        source_ref="sftp-file-1",
    )


def test_a_call_that_moved_on_is_answered_with_the_status_it_was_registered_with() -> None:
    moved_on = call(CallStatus.PENDING, CallStatus.TRANSCRIBING, CallStatus.COMPLETED)
    assert registered_status(moved_on) is CallStatus.PENDING


def test_a_duplicate_stays_a_duplicate() -> None:
    assert registered_status(call(CallStatus.DUPLICATE)) is CallStatus.DUPLICATE


def test_a_call_without_history_is_answered_with_its_status() -> None:
    bare = dataclasses.replace(call(CallStatus.PENDING), status_history=())
    assert registered_status(bare) is CallStatus.PENDING
