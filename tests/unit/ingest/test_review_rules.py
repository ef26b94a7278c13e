"""Marking a call reviewed: only a completed call's result, and the queue's review filter."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from callscope.v1 import ingest_pb2
from callscope_ingest.domain.call_queries import ReviewFilter
from callscope_ingest.domain.calls import (
    Call,
    CallResult,
    CallReview,
    UploadSource,
    check_reviewable,
)
from callscope_ingest.domain.errors import CallConflictError
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.entrypoints.call_rpc import call_query
from callscope_ingest.entrypoints.grpc_api import call_to_proto

NOW = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)
RESULT = CallResult(
    score=60.0, flagged=True, flag_reasons=("low",), analysis_version=2, transcript_version=1
)


def a_call(status: CallStatus, result: CallResult | None = RESULT) -> Call:
    return Call(
        id="call-1",
        org_id="org",
        campaign_id="campaign",
        source=UploadSource.API,
        file_name="call.wav",
        metadata=CallMetadata(),
        audio=None,
        duration_s=30.0,
        channels=2,
        status=status,
        created_at=NOW,
        updated_at=NOW,
        result=result,
    )


def test_a_completed_call_is_reviewable_at_its_current_analysis_version() -> None:
    assert check_reviewable(a_call(CallStatus.COMPLETED)).analysis_version == 2


@pytest.mark.parametrize(
    "status",
    [CallStatus.PENDING, CallStatus.TRANSCRIBING, CallStatus.ANALYZING, CallStatus.FAILED],
)
def test_a_call_that_is_not_completed_is_not_reviewable(status: CallStatus) -> None:
    # A re-run under way keeps the last result, but a new one is coming: not reviewable yet.
    with pytest.raises(CallConflictError) as refused:
        check_reviewable(a_call(status))
    assert refused.value.code == "not_reviewable"
    assert status.value.lower() in refused.value.message


def test_a_duplicate_has_no_result_to_review() -> None:
    with pytest.raises(CallConflictError):
        check_reviewable(a_call(CallStatus.DUPLICATE, result=None))


def test_the_review_filter_is_read_from_the_request() -> None:
    for value, expected in (
        (ingest_pb2.REVIEW_FILTER_ANY, ReviewFilter.ANY),
        (ingest_pb2.REVIEW_FILTER_UNREVIEWED, ReviewFilter.UNREVIEWED),
        (ingest_pb2.REVIEW_FILTER_REVIEWED, ReviewFilter.REVIEWED),
    ):
        query = call_query(ingest_pb2.ListCallsRequest(org_id="org", review=value))
        assert query.review is expected


def test_the_review_mark_is_in_the_contract() -> None:
    review = CallReview(reviewed_by="user-1", reviewed_at=NOW, note="ok", analysis_version=2)
    message = call_to_proto(dataclasses.replace(a_call(CallStatus.COMPLETED), review=review))
    assert (message.review.reviewed_by, message.review.note) == ("user-1", "ok")
    assert message.review.analysis_version == 2
    assert message.review.reviewed_at.ToDatetime(dt.UTC) == NOW
    assert not call_to_proto(a_call(CallStatus.COMPLETED)).HasField("review")
