"""When agent and customer may be swapped: the call needs a transcript and must be out of the
pipeline (the rule `call_management.swap_speakers` applies before anything is claimed)."""

from __future__ import annotations

import datetime as dt

import pytest
from callscope_ingest.domain.calls import (
    Call,
    Failure,
    StoredAudio,
    UploadSource,
    check_swappable,
    has_transcript,
    in_pipeline,
)
from callscope_ingest.domain.errors import CallConflictError
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus

NOW = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)
AUDIO = StoredAudio("bucket", "org/campaign/call/audio.wav", 1000, "ab" * 32, "audio/wav")


def a_call(
    status: CallStatus,
    *,
    queued: bool = True,
    failed_at: str = "",
    duplicate_of: str = "",
) -> Call:
    return Call(
        id="call-1",
        org_id="org",
        campaign_id="campaign",
        source=UploadSource.API,
        file_name="call.wav",
        metadata=CallMetadata(),
        audio=None if duplicate_of else AUDIO,
        duration_s=60.0,
        channels=2,
        status=status,
        created_at=NOW,
        updated_at=NOW,
        failure=Failure(failed_at, "it broke") if failed_at else None,
        duplicate_of=duplicate_of,
        queued_at=NOW if queued else None,
    )


@pytest.mark.parametrize(
    "call",
    [
        a_call(CallStatus.COMPLETED),
        a_call(CallStatus.FAILED, failed_at="ANALYSIS"),
    ],
    ids=["completed", "failed-at-analysis"],
)
def test_a_call_with_a_transcript_can_be_swapped(call: Call) -> None:
    assert has_transcript(call) and not in_pipeline(call)
    check_swappable(call)


@pytest.mark.parametrize(
    "call",
    [
        a_call(CallStatus.PENDING, queued=True),
        a_call(CallStatus.TRANSCRIBING),
        a_call(CallStatus.ANALYZING),
    ],
    ids=["queued", "transcribing", "analysing"],
)
def test_a_call_in_the_pipeline_is_refused_as_in_progress(call: Call) -> None:
    assert in_pipeline(call)
    with pytest.raises(CallConflictError) as refused:
        check_swappable(call)
    assert refused.value.code == "call_in_progress"
    assert call.status.value.lower() in refused.value.message
    assert "once it has completed" in refused.value.message


@pytest.mark.parametrize(
    ("call", "advice"),
    [
        (a_call(CallStatus.PENDING, queued=False), "process it"),
        (a_call(CallStatus.FAILED, failed_at="TRANSCRIPTION"), "re-run the transcription"),
        (a_call(CallStatus.FAILED, failed_at="INGEST"), "re-run the transcription"),
        (a_call(CallStatus.DUPLICATE, duplicate_of="call-0"), "original call call-0"),
    ],
    ids=["held", "failed-at-transcription", "failed-at-ingest", "duplicate"],
)
def test_a_call_never_transcribed_has_nothing_to_swap(call: Call, advice: str) -> None:
    assert not has_transcript(call) and not in_pipeline(call)
    with pytest.raises(CallConflictError) as refused:
        check_swappable(call)
    assert refused.value.code == "no_transcript"
    assert advice in refused.value.message
