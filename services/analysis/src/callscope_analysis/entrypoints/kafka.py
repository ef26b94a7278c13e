"""Kafka subscriptions: decode is done by the consumer, these hand each event to its handler."""

from __future__ import annotations

from typing import Any

from callscope.v1 import events_pb2
from callscope_common.kafka import Subscription
from callscope_common.stage_timing import timed_stage

from callscope_analysis.bootstrap import AnalysisService

# The stage label of callscope_stage_seconds.
STAGE = "analysis"


def subscriptions(service: AnalysisService) -> list[Subscription[Any]]:
    """The topics analysis consumes and the handler each event goes to.

    Evaluating a transcript is the stage timed in callscope_stage_seconds; deleting a
    call's analyses is not.
    """
    return [
        Subscription(
            events_pb2.CallTranscribed, timed_stage(STAGE, service.handle_call_transcribed)
        ),
        Subscription(
            events_pb2.AnalysisRequested, timed_stage(STAGE, service.handle_analysis_requested)
        ),
        Subscription(events_pb2.CallDeleted, service.handle_call_deleted),
    ]
