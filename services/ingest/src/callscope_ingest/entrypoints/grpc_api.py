"""The `Ingest` gRPC service: thin mapping between protobuf messages and ingest's handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeAlias

import grpc
from callscope.v1 import common_pb2, ingest_pb2, ingest_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_ingest import call_management, handlers
from callscope_ingest.domain.audio_rules import AudioLimits, check_declared_size
from callscope_ingest.domain.call_queries import PageCursor, encode_cursor
from callscope_ingest.domain.calls import Call, UploadSource, registered_status
from callscope_ingest.domain.errors import (
    CallNotFoundError,
    CallNotProcessableError,
    RegistrationPendingError,
    RejectionCode,
    UploadRejectedError,
)
from callscope_ingest.domain.metadata import CallMetadata
from callscope_ingest.domain.status import CallStatus
from callscope_ingest.entrypoints import job_rpc, read_model_rpc
from callscope_ingest.entrypoints.call_rpc import REJECTION_CODE_KEY, answer, call_query
from callscope_ingest.entrypoints.upload_metrics import counted_uploads
from callscope_ingest.job_handlers import ItemUpload

_STATUS_FOR_CODE = {RejectionCode.FILE_TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED}
_UploadContext: TypeAlias = grpc.aio.ServicerContext[
    ingest_pb2.UploadCallRequest, ingest_pb2.UploadCallReply
]


# How long an upload may send nothing in the middle of its file before it is abandoned.
DEFAULT_UPLOAD_IDLE_TIMEOUT_S = 60.0


class IngestServicer(ingest_pb2_grpc.IngestServicer):
    """Receives uploads and answers questions about calls."""

    def __init__(
        self,
        ports: handlers.IngestPorts,
        limits: AudioLimits,
        spool_dir: Path | None,
        idle_timeout_s: float = DEFAULT_UPLOAD_IDLE_TIMEOUT_S,
    ) -> None:
        self._ports = ports
        self._limits = limits
        self._spool_dir = spool_dir
        self._idle_timeout_s = idle_timeout_s

    @counted_uploads
    async def UploadCall(  # noqa: N802 - gRPC method name
        self,
        request_iterator: AsyncIterator[ingest_pb2.UploadCallRequest],
        context: _UploadContext,
    ) -> AsyncIterator[ingest_pb2.UploadCallReply]:
        """Header → ready → chunks → accepted; a refusal mid-file is `stop`, then the status.

        An upload repeating a source_ref is answered `accepted` (the earlier call's)
        in place of `ready`: its file is not needed and nothing is stored.
        """
        messages = aiter(request_iterator)
        header, item, earlier = await self._opened(messages, context)
        if earlier is not None:
            # After the header the client waits for `ready` and writes nothing, so the
            # call can end at once without cutting off a write.
            yield _accepted(earlier)
            return
        settled = item is None
        try:
            yield ingest_pb2.UploadCallReply(ready=ingest_pb2.ReadyForFile())
            late_metadata: list[CallMetadata] = []
            receiving = _Receiving()
            try:
                chunks = _file_chunks(messages, late_metadata, receiving, self._idle_timeout_s)
                if item is not None:
                    chunks = item.track(chunks)
                async with handlers.spooled_upload(
                    chunks, self._spool_dir, self._limits
                ) as spooled:
                    metadata = _metadata(header.metadata)
                    for later in late_metadata:
                        metadata = metadata.merged_with(later)
                    # A job item's name, metadata and source are the job's, not the client's.
                    command = (
                        item.command
                        if item is not None
                        else handlers.RegisterCall(
                            org_id=header.org_id,
                            campaign_id=header.campaign_id,
                            source=_source(header.source),
                            file_name=header.file_name,
                            metadata=metadata,
                            source_ref=header.source_ref,
                        )
                    )
                    call = await handlers.register_call(command, spooled, self._limits, self._ports)
            except UploadIdleError as idle:
                # The sender went quiet mid-file: its spooled part is gone (the spool's
                # block has exited) and a job item is freed by `abandoned` below.
                await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(idle))
            except RegistrationPendingError as pending:
                # The whole file arrived; nothing of it is kept, and a job item goes back to
                # WAITING (below): the client sends it again, as after any 503.
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(pending))
            except UploadRejectedError as rejection:
                if item is not None:
                    await asyncio.shield(item.rejected(rejection))
                    settled = True
                if not receiving.finished:
                    # The client is still sending: ask it to stop, let it half-close, then
                    # end the call, so that the client reads this status and not a write error.
                    yield ingest_pb2.UploadCallReply(stop=ingest_pb2.StopSending())
                    async for _ in messages:
                        pass
                await _abort_rejected(context, rejection)
            if item is not None:
                await asyncio.shield(item.uploaded(call))
                settled = True
            yield _accepted(call)
        finally:
            if item is not None and not settled:
                # The client went away (or a store failed) before the file was complete.
                # Shielded like every settling of the item: a second cancellation while
                # the client's RPC is torn down must not stop it half-way (WAITING with
                # the claim still held would refuse every retry of the file).
                await asyncio.shield(item.abandoned())

    async def _opened(
        self, messages: AsyncIterator[ingest_pb2.UploadCallRequest], context: _UploadContext
    ) -> tuple[ingest_pb2.UploadHeader, ItemUpload | None, Call | None]:
        """Reads and checks the header: (header, the claimed job item, the earlier call).

        The earlier call is set when the upload repeats a source_ref; nothing is claimed
        then. A refused header ends the RPC with its status.
        """
        # A job item's upload: claimed here, and settled (uploaded, rejected) or abandoned
        # by UploadCall.
        item: ItemUpload | None = None
        try:
            header = await _header(messages)
            is_job_item = bool(header.job_id or header.job_item_id)
            if header.source_ref and is_job_item:
                raise UploadRejectedError(
                    RejectionCode.INVALID_REQUEST,
                    "a job item's file cannot carry a source_ref: the job item already "
                    "identifies it; send either job_id and job_item_id or a source_ref",
                )
            earlier = await handlers.earlier_upload(
                header.org_id, header.source_ref, self._ports.calls
            )
            if earlier is not None:
                return header, None, earlier
            if is_job_item:
                item = await job_rpc.begin_item_upload(header, context, self._ports.jobs)
            check_declared_size(header.declared_size_bytes, self._limits)
        except UploadRejectedError as rejection:
            if item is not None:
                await asyncio.shield(item.rejected(rejection))
            await _abort_rejected(context, rejection)
        return header, item, None

    async def GetCall(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.GetCallRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.GetCallRequest, ingest_pb2.Call],
    ) -> ingest_pb2.Call:
        """The call, or NOT_FOUND (also for another organisation's call)."""
        call = await handlers.get_call(request.org_id, request.call_id, self._ports.calls)
        if call is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no call with id {request.call_id}")
            raise AssertionError("unreachable: abort raises")
        return call_to_proto(call)

    async def ProcessCall(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.ProcessCallRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.ProcessCallRequest, ingest_pb2.Call],
    ) -> ingest_pb2.Call:
        """Queues a held call; NOT_FOUND or FAILED_PRECONDITION with the reason otherwise."""
        try:
            call = await handlers.process_call(request.org_id, request.call_id, self._ports)
        except CallNotFoundError:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no call with id {request.call_id}")
            raise AssertionError("unreachable: abort raises") from None
        except CallNotProcessableError as error:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
            raise AssertionError("unreachable: abort raises") from None
        return call_to_proto(call)

    async def ReadAudio(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.ReadAudioRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.ReadAudioRequest, ingest_pb2.AudioChunk],
    ) -> AsyncIterator[ingest_pb2.AudioChunk]:
        """The call's recording, or a byte range of it, in chunks after an `info` message."""
        # grpc.aio serves a streaming method only if it is an async generator function.
        async for chunk in read_model_rpc.read_audio(
            request, context, calls=self._ports.calls, audio=self._ports.audio
        ):
            yield chunk

    async def SummarizeCalls(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.SummarizeCallsRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.SummarizeCallsRequest, ingest_pb2.CallSummary],
    ) -> ingest_pb2.CallSummary:
        """Counts and score statistics of the calls a ListCalls filter selects."""
        return await read_model_rpc.summarize_calls(request, context, calls=self._ports.calls)

    async def ListCalls(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.ListCallsRequest,
        context: grpc.aio.ServicerContext[
            ingest_pb2.ListCallsRequest, ingest_pb2.ListCallsResponse
        ],
    ) -> ingest_pb2.ListCallsResponse:
        """A page of calls and the token of the next one."""

        async def page() -> tuple[list[Call], PageCursor | None]:
            # Reading the filters can fail too (a bad page token): inside answer().
            return await call_management.list_calls(call_query(request), self._ports)

        calls, after = await answer(context, page())
        return ingest_pb2.ListCallsResponse(
            calls=[call_to_proto(call) for call in calls],
            next_page_token=encode_cursor(after) if after else "",
        )

    async def UpdateCallMetadata(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.UpdateCallMetadataRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.UpdateCallMetadataRequest, ingest_pb2.Call],
    ) -> ingest_pb2.Call:
        """The call with the named metadata fields replaced."""
        call = await answer(
            context,
            call_management.update_metadata(
                request.org_id,
                request.call_id,
                _metadata(request.metadata),
                frozenset(request.fields),
                self._ports,
            ),
        )
        return call_to_proto(call)

    async def LinkAgent(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.LinkAgentRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.LinkAgentRequest, ingest_pb2.Call],
    ) -> ingest_pb2.Call:
        """The call linked to the agent (or unlinked)."""
        call = await answer(
            context,
            call_management.link_agent(
                request.org_id, request.call_id, request.agent_id, self._ports
            ),
        )
        return call_to_proto(call)

    async def DeleteCall(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.DeleteCallRequest,
        context: grpc.aio.ServicerContext[
            ingest_pb2.DeleteCallRequest, ingest_pb2.DeleteCallResponse
        ],
    ) -> ingest_pb2.DeleteCallResponse:
        """Deletes the call; its owners delete their versions through `calls.deleted`."""
        await answer(
            context, call_management.delete_call(request.org_id, request.call_id, self._ports)
        )
        return ingest_pb2.DeleteCallResponse()

    async def RerunTranscription(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.RerunRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.RerunRequest, ingest_pb2.Call],
    ) -> ingest_pb2.Call:
        """The call, queued again for transcription."""
        call = await answer(
            context,
            call_management.rerun_transcription(request.org_id, request.call_id, self._ports),
        )
        return call_to_proto(call)

    async def RunAnalysis(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.RerunRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.RerunRequest, ingest_pb2.Call],
    ) -> ingest_pb2.Call:
        """The call, queued again for analysis."""
        call = await answer(
            context,
            call_management.run_analysis(
                request.org_id,
                request.call_id,
                request.transcript_version,
                self._ports,
                prefer_batch=request.prefer_batch,
            ),
        )
        return call_to_proto(call)

    async def SwapSpeakers(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.SwapSpeakersRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.SwapSpeakersRequest, ingest_pb2.Call],
    ) -> ingest_pb2.Call:
        """The call, queued again for a transcript version with agent and customer swapped."""
        call = await answer(
            context,
            call_management.swap_speakers(
                request.org_id,
                request.call_id,
                request.transcript_version,
                request.requested_by,
                self._ports,
            ),
        )
        return call_to_proto(call)

    async def MarkReviewed(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.MarkReviewedRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.MarkReviewedRequest, ingest_pb2.Call],
    ) -> ingest_pb2.Call:
        """The call with its current result marked reviewed."""
        call = await answer(
            context,
            call_management.mark_reviewed(
                request.org_id, request.call_id, request.reviewer, request.note, self._ports
            ),
        )
        return call_to_proto(call)

    async def PreviewBulkUpload(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.PreviewBulkUploadRequest,
        context: grpc.aio.ServicerContext[
            ingest_pb2.PreviewBulkUploadRequest, ingest_pb2.BulkPreview
        ],
    ) -> ingest_pb2.BulkPreview:
        """The bulk CSV checked against the selected files' names; stores nothing."""
        return await job_rpc.preview_bulk_upload(request, context)

    async def CreateJob(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.CreateJobRequest,
        context: grpc.aio.ServicerContext[
            ingest_pb2.CreateJobRequest, ingest_pb2.CreateJobResponse
        ],
    ) -> ingest_pb2.CreateJobResponse:
        """A multi-file (UI) or bulk (BULK) job whose items are then sent with UploadCall."""
        return await job_rpc.create_job(request, context, self._ports.jobs)

    async def GetJob(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.GetJobRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.GetJobRequest, ingest_pb2.Job],
    ) -> ingest_pb2.Job:
        """The job with its items, status and counts."""
        return await job_rpc.get_job(request, context, self._ports.jobs)

    async def ListJobs(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.ListJobsRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.ListJobsRequest, ingest_pb2.ListJobsResponse],
    ) -> ingest_pb2.ListJobsResponse:
        """A page of a campaign's jobs, newest first."""
        return await job_rpc.list_jobs(request, context, self._ports.jobs)

    async def CancelJob(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.GetJobRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.GetJobRequest, ingest_pb2.Job],
    ) -> ingest_pb2.Job:
        """Cancels the job's files not uploaded yet."""
        return await job_rpc.cancel_job(request, context, self._ports.jobs)

    async def CancelJobItem(  # noqa: N802 - gRPC method name
        self,
        request: ingest_pb2.CancelJobItemRequest,
        context: grpc.aio.ServicerContext[ingest_pb2.CancelJobItemRequest, ingest_pb2.Job],
    ) -> ingest_pb2.Job:
        """Cancels one file of a job; the others go on."""
        return await job_rpc.cancel_job_item(request, context, self._ports.jobs)


@dataclass
class _Receiving:
    """Whether the client has finished sending (half-closed its side)."""

    finished: bool = False


async def _header(
    messages: AsyncIterator[ingest_pb2.UploadCallRequest],
) -> ingest_pb2.UploadHeader:
    first = await anext(messages, None)
    if first is None or first.WhichOneof("part") != "header":
        raise UploadRejectedError(
            RejectionCode.INVALID_REQUEST, "the upload must start with a header"
        )
    return first.header


class UploadIdleError(Exception):
    """Nothing arrived for the idle timeout in the middle of a file."""


async def _file_chunks(
    messages: AsyncIterator[ingest_pb2.UploadCallRequest],
    late_metadata: list[CallMetadata],
    receiving: _Receiving,
    idle_timeout_s: float,
) -> AsyncIterator[bytes]:
    """The file's chunks; UploadIdleError when the sender sends nothing for idle_timeout_s.

    Without that bound, a sender that stops without closing its stream would hold its
    spooled part (and a job item's claim) for as long as the connection lives.
    """
    while True:
        try:
            # asyncio.timeout, not wait_for: no extra task, so a cancellation of the RPC
            # (the sender went away) is never mistaken for the end of the file.
            async with asyncio.timeout(idle_timeout_s):
                message = await anext(messages)
        except StopAsyncIteration:
            break
        except TimeoutError as error:
            raise UploadIdleError(
                f"nothing arrived for {idle_timeout_s:g} s in the middle of the file, so the "
                "upload was abandoned and nothing was kept; send the file again"
            ) from error
        part = message.WhichOneof("part")
        if part == "chunk":
            yield message.chunk
        elif part == "trailing_metadata":
            late_metadata.append(_metadata(message.trailing_metadata))
        else:
            raise UploadRejectedError(RejectionCode.INVALID_REQUEST, "the header was sent twice")
    receiving.finished = True


async def _abort_rejected(
    context: _UploadContext,
    rejection: UploadRejectedError,
) -> NoReturn:
    context.set_trailing_metadata(((REJECTION_CODE_KEY, rejection.code.value),))
    status = _STATUS_FOR_CODE.get(rejection.code, grpc.StatusCode.INVALID_ARGUMENT)
    await context.abort(status, rejection.message)
    raise AssertionError("unreachable: abort raises")


def _accepted(call: Call) -> ingest_pb2.UploadCallReply:
    """The `accepted` reply; a repeated upload's is the first upload's, not the current status."""
    return ingest_pb2.UploadCallReply(
        accepted=ingest_pb2.UploadAccepted(
            call_id=call.id,
            status=_status(registered_status(call)),
            duplicate_of=call.duplicate_of,
            duplicate_reason=call.duplicate_reason,
        )
    )


def _metadata(message: common_pb2.CallMetadata) -> CallMetadata:
    return CallMetadata(
        agent_name=message.agent_name,
        agent_code=message.agent_code,
        call_type=message.call_type,
        call_date=message.call_date,
        customer_id=message.customer_id,
        disposition=message.disposition,
        client_reference=message.client_reference,
    )


def _source(value: common_pb2.UploadSource.ValueType) -> UploadSource:
    name = common_pb2.UploadSource.Name(value).removeprefix("UPLOAD_SOURCE_")
    if name not in UploadSource.__members__:
        raise UploadRejectedError(RejectionCode.INVALID_REQUEST, "the upload source is missing")
    return UploadSource(name)


def _status(status: CallStatus) -> common_pb2.CallStatus.ValueType:
    return common_pb2.CallStatus.Value(f"CALL_STATUS_{status.value}")


def _timestamp(value: object) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)  # type: ignore[arg-type]
    return stamp


def call_to_proto(call: Call) -> ingest_pb2.Call:
    """The protobuf shape of a call."""
    message = ingest_pb2.Call(
        id=call.id,
        org_id=call.org_id,
        campaign_id=call.campaign_id,
        status=_status(call.status),
        source=common_pb2.UploadSource.Value(f"UPLOAD_SOURCE_{call.source.value}"),
        file_name=call.file_name,
        metadata=common_pb2.CallMetadata(**vars(call.metadata)),
        audio=common_pb2.ObjectRef(**vars(call.audio)) if call.audio else None,
        duration_seconds=call.duration_s,
        channels=call.channels,
        created_at=_timestamp(call.created_at),
        updated_at=_timestamp(call.updated_at),
        duplicate_of=call.duplicate_of,
        duplicate_reason=call.duplicate_reason,
        queued_at=_timestamp(call.queued_at) if call.queued_at else None,
        agent=ingest_pb2.AgentLink(
            agent_id=call.agent.agent_id,
            code=call.agent.code,
            name=call.agent.name,
            method=ingest_pb2.AgentLinkMethod.Value(f"AGENT_LINK_METHOD_{call.agent.method}"),
        )
        if call.agent
        else None,
        job_id=call.job_id,
        job_item_id=call.job_item_id,
    )
    if call.result is not None:
        message.result.CopyFrom(
            ingest_pb2.CallResult(
                score=call.result.score,
                flagged=call.result.flagged,
                flag_reasons=list(call.result.flag_reasons),
                analysis_version=call.result.analysis_version,
                transcript_version=call.result.transcript_version,
            )
        )
    if call.review is not None:
        message.review.CopyFrom(
            ingest_pb2.CallReview(
                reviewed_by=call.review.reviewed_by,
                reviewed_at=_timestamp(call.review.reviewed_at),
                note=call.review.note,
                analysis_version=call.review.analysis_version,
            )
        )
    if call.failure is not None:
        message.failed_stage = common_pb2.Stage.Value(f"STAGE_{call.failure.stage}")
        message.failure_reason = call.failure.reason
    return message
