"""Kafka subscriptions: decode is done by the consumer, these hand each event to its handler."""

from __future__ import annotations

from typing import Any

from callscope.v1 import events_pb2
from callscope_common.kafka import Subscription

from callscope_analysis.bootstrap import AnalysisService


def subscriptions(service: AnalysisService) -> list[Subscription[Any]]:
    """The topics analysis consumes and the handler each event goes to."""
    return [
        Subscription(events_pb2.CallTranscribed, service.handle_call_transcribed),
        Subscription(events_pb2.AnalysisRequested, service.handle_analysis_requested),
        Subscription(events_pb2.CallDeleted, service.handle_call_deleted),
    ]
