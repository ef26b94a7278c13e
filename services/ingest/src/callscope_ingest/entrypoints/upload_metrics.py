"""Counts finished uploads into callscope_uploads_total{source,outcome}, from what the
UploadCall stream says: the header's source, then the reply or the status it ended with.

Outcomes: `accepted` (a new call), `duplicate` (stored as a duplicate of an earlier call),
`repeated` (a source_ref sent before: answered with the first call, nothing stored),
`rejected:<code>` (a rule refused it; the code is the `rejection-code` trailer),
`idle_timeout` (the sender went quiet mid-file), `abandoned` (the client went away),
`error` (anything else: a store failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeAlias

import grpc
from callscope.v1 import common_pb2, ingest_pb2
from callscope_common.metrics import UPLOADS

from callscope_ingest.entrypoints.call_rpc import REJECTION_CODE_KEY

_Requests: TypeAlias = AsyncIterator[ingest_pb2.UploadCallRequest]
_Replies: TypeAlias = AsyncIterator[ingest_pb2.UploadCallReply]
UploadMethod: TypeAlias = Callable[[Any, _Requests, Any], _Replies]


def counted_uploads(upload: UploadMethod) -> UploadMethod:
    """The UploadCall method, counting each upload once when its stream ends."""

    async def counted(self: Any, request_iterator: _Requests, context: Any) -> _Replies:
        requests = _HeaderWatch(request_iterator)
        ready = False
        outcome = "error"
        try:
            async for reply in upload(self, requests, context):
                if reply.HasField("ready"):
                    ready = True
                elif reply.HasField("accepted"):
                    outcome = _accepted(reply.accepted, ready)
                yield reply
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "abandoned"
            raise
        except Exception:
            outcome = _refused(context)
            raise
        finally:
            UPLOADS.labels(requests.source, outcome).inc()

    return counted


class _HeaderWatch:
    """The request stream as it is, noting the source its header names.

    A plain iterator object rather than a generator: an `anext` cancelled by the upload's
    idle timeout leaves the stream as usable as the original.
    """

    def __init__(self, requests: _Requests) -> None:
        self._requests = aiter(requests)
        self.source = "UNKNOWN"

    def __aiter__(self) -> _HeaderWatch:
        return self

    async def __anext__(self) -> ingest_pb2.UploadCallRequest:
        message = await anext(self._requests)
        if message.WhichOneof("part") == "header" and self.source == "UNKNOWN":
            self.source = _source_name(message.header.source)
        return message


def _source_name(value: common_pb2.UploadSource.ValueType) -> str:
    """UI, API, BULK, SFTP, UNSPECIFIED; UNKNOWN for a number the contract does not name."""
    try:
        return common_pb2.UploadSource.Name(value).removeprefix("UPLOAD_SOURCE_")
    except ValueError:
        return "UNKNOWN"


def _accepted(accepted: ingest_pb2.UploadAccepted, ready: bool) -> str:
    if not ready:
        return "repeated"
    return "duplicate" if accepted.duplicate_of else "accepted"


def _refused(context: Any) -> str:
    for key, value in context.trailing_metadata() or ():
        if key == REJECTION_CODE_KEY:
            return f"rejected:{value}"
    if context.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "idle_timeout"
    return "error"
