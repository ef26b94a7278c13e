"""Ingest's Kafka subscriptions: stage statuses and analysis results."""

from __future__ import annotations

from typing import Any

from callscope.v1 import events_pb2
from callscope_common.kafka import Subscription

from callscope_ingest import handlers
from callscope_ingest.ports import CallStore


def subscriptions(calls: CallStore) -> list[Subscription[Any]]:
    """The topics ingest consumes and the handler for each."""

    async def on_status(event: events_pb2.CallStatusChanged) -> None:
        await handlers.apply_status_change(event, calls)

    async def on_analyzed(event: events_pb2.CallAnalyzed) -> None:
        await handlers.apply_analysis_result(event, calls)

    return [
        Subscription(events_pb2.CallStatusChanged, on_status),
        Subscription(events_pb2.CallAnalyzed, on_analyzed),
    ]
