"""Answers UNAVAILABLE, not UNKNOWN, when a call fails because a server we need is down.

A handler that cannot reach MongoDB, Kafka, S3 or a peer service (outages.is_outage)
has nothing wrong with its request. Left alone, gRPC would answer such a failure
UNKNOWN and the caller would report an internal error; UNAVAILABLE tells the caller
(the gateway answers 503 with Retry-After) that the same request may be sent again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc

from callscope_common.grpc_wrapping import Behaviour, BehaviourWrapper, WrappingInterceptor
from callscope_common.outages import is_outage

_log = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "a server this service needs did not answer in time; try again shortly"


class OutagesAsUnavailable(WrappingInterceptor):
    """Turns a handler's outage failure without a status of its own into UNAVAILABLE."""

    def wrapper_for(self, method: str) -> BehaviourWrapper:
        """A guard that answers the method's outage failures UNAVAILABLE."""
        return _Guard(method)


class _Guard(BehaviourWrapper):
    def __init__(self, method: str) -> None:
        self._method = method

    def answer(self, behaviour: Behaviour) -> Behaviour:
        """A behaviour that returns one answer, guarded."""

        async def guarded(request: Any, context: Any) -> Any:
            try:
                return await behaviour(request, context)
            except Exception as error:
                await self._unavailable_if_outage(error, context)
                raise

        return guarded

    def stream(self, behaviour: Behaviour) -> Behaviour:
        """A streaming behaviour, guarded."""

        async def guarded(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                async for reply in behaviour(request, context):
                    yield reply
            except Exception as error:
                await self._unavailable_if_outage(error, context)
                raise

        return guarded

    async def _unavailable_if_outage(self, error: Exception, context: Any) -> None:
        # A status the handler set itself (an abort, say) is its answer and is kept.
        if context.code() is not None or not is_outage(error):
            return
        _log.warning(
            "%s answered UNAVAILABLE: a server it needs is unreachable",
            self._method,
            exc_info=error,
        )
        await context.abort(grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_MESSAGE)
