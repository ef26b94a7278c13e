"""The HTTP answer that plays a call's recording: whole (200) or one byte range (206, 416).

Bytes come from ingest (ReadAudio) chunk by chunk; the gateway holds one chunk at a time.
"""

from __future__ import annotations

from typing import Any

import grpc
from callscope.v1 import ingest_pb2
from fastapi import Response
from fastapi.responses import JSONResponse, StreamingResponse

from callscope_gateway.domain.audio_playback import (
    RangeNotSatisfiableError,
    content_disposition,
    requested_range,
)
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.errors import COMMON_ERRORS, error_responses, from_rpc

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_AUDIO_TYPES = ("audio/mpeg", "audio/wav", "audio/mp4", "audio/webm", "audio/ogg")

# The OpenAPI `responses` of the audio route.
AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the whole recording, in its stored format",
        "content": {media_type: _BINARY for media_type in _AUDIO_TYPES},
    },
    206: {
        "description": "the byte range the Range header asked for (Content-Range says which)",
        "content": {media_type: _BINARY for media_type in _AUDIO_TYPES},
    },
    **error_responses(*COMMON_ERRORS, "not_found", "range_not_satisfiable"),
}


async def audio_response(
    call: ingest_pb2.Call,
    range_header: str | None,
    if_range: str | None,
    org_id: str,
    context: ApiContext,
) -> Response:
    """Streams the call's recording, honouring one `Range: bytes=...` (and `If-Range`)."""
    if not call.HasField("audio") or not call.audio.key:
        original = f"; play the original call {call.duplicate_of}" if call.duplicate_of else ""
        raise GatewayError("not_found", f"call {call.id} has no stored recording{original}")
    etag = f'"{call.audio.sha256}"' if call.audio.sha256 else None
    if if_range is not None and if_range.strip() != etag:
        range_header = None  # the client's copy is another file: send the whole one
    size = call.audio.size_bytes
    try:
        wanted = requested_range(range_header, size)
    except RangeNotSatisfiableError as error:
        return _unsatisfiable(str(error), size)
    offset, length = (wanted.first, wanted.length) if wanted else (0, 0)
    try:
        stream = await context.peers.open_audio(org_id, call.id, offset, length)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.OUT_OF_RANGE:
            return _unsatisfiable(error.details() or "range not satisfiable", size)
        raise from_rpc(
            error, f"call {call.id} has no stored recording", service="the ingest service"
        ) from error
    info = stream.info
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(info.length),
        "Content-Disposition": content_disposition(call.file_name, call.id, info.content_type),
        "Cache-Control": "private",
        "X-Content-Type-Options": "nosniff",
    }
    if etag:
        headers["ETag"] = etag
    if wanted is not None:
        last = info.offset + info.length - 1
        headers["Content-Range"] = f"bytes {info.offset}-{last}/{info.total_size_bytes}"
    return StreamingResponse(
        stream.chunks(),
        status_code=206 if wanted is not None else 200,
        media_type=info.content_type,
        headers=headers,
    )


def _unsatisfiable(message: str, size: int) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "range_not_satisfiable", "message": message}},
        416,
        headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
    )
