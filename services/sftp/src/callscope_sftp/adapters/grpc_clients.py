"""The gateway's Directory and ingest's Ingest API, as the sweeper needs them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import grpc
from callscope.v1 import common_pb2, directory_pb2, directory_pb2_grpc, ingest_pb2, ingest_pb2_grpc
from callscope_common.grpc_server import create_channel

from callscope_sftp.domain.model import CampaignFolder, CsvReading, CsvRequirement, CsvRow
from callscope_sftp.ports import (
    IngestUnavailableError,
    UploadRefusedError,
    UploadRequest,
    UploadResult,
)

LOOKUP_TIMEOUT_S = 30.0
# A 500 MB file over a slow link still fits; ingest refuses what is too large early.
UPLOAD_TIMEOUT_S = 3600.0
# Codes that mean "this file will never be accepted", not "try again later".
_REFUSALS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
_METADATA_FIELDS = tuple(f.name for f in common_pb2.CallMetadata.DESCRIPTOR.fields)


class GrpcDirectory:
    """The campaigns whose SFTP ingestion is on, from the gateway."""

    def __init__(self, address: str) -> None:
        self._channel = create_channel(address)
        self._stub = directory_pb2_grpc.DirectoryStub(self._channel)

    async def sftp_campaigns(self) -> list[CampaignFolder]:
        """Every enabled campaign with its folder and batch settings."""
        reply = await self._stub.ListSftpCampaigns(
            directory_pb2.ListSftpCampaignsRequest(), timeout=LOOKUP_TIMEOUT_S
        )
        return [
            CampaignFolder(
                org_id=c.org_id,
                campaign_id=c.campaign_id,
                campaign_name=c.campaign_name,
                org_folder=c.org_folder,
                slug=c.settings.folder_slug,
                csv=(
                    CsvRequirement.REQUIRED
                    if c.settings.csv == directory_pb2.SFTP_CSV_REQUIREMENT_REQUIRED
                    else CsvRequirement.OPTIONAL
                ),
                batch_window_s=max(0, c.settings.batch_window_seconds),
                agent_pattern=c.settings.agent_file_name_pattern,
            )
            for c in reply.campaigns
            if c.settings.enabled and c.settings.folder_slug and c.org_folder
        ]

    async def close(self) -> None:
        """Closes the channel."""
        await self._channel.close()


class GrpcIngest:
    """Ingest's CSV reading and upload stream."""

    def __init__(self, address: str) -> None:
        self._channel = create_channel(address)
        self._stub = ingest_pb2_grpc.IngestStub(self._channel)

    async def read_csv(
        self, org_id: str, campaign_id: str, csv: bytes, file_names: Sequence[str]
    ) -> CsvReading:
        """The CSV read by ingest's bulk-upload rules."""
        try:
            preview = await self._stub.PreviewBulkUpload(
                ingest_pb2.PreviewBulkUploadRequest(
                    org_id=org_id, campaign_id=campaign_id, csv=csv, file_names=list(file_names)
                ),
                timeout=LOOKUP_TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as failed:
            if failed.code() in _REFUSALS:
                return CsvReading(errors=(failed.details() or "the CSV was refused",), rows=())
            raise IngestUnavailableError(_describe(failed)) from failed
        return CsvReading(
            errors=tuple(preview.errors),
            rows=tuple(
                CsvRow(
                    line=row.line,
                    file_name=row.file_name,
                    metadata={f: getattr(row.metadata, f) for f in _METADATA_FIELDS},
                    errors=tuple(row.errors),
                    warnings=tuple(row.warnings),
                )
                for row in preview.rows
            ),
        )

    async def upload(self, request: UploadRequest, chunks: AsyncIterator[bytes]) -> UploadResult:
        """Runs ingest's upload protocol: header, ready (or the answer), chunks, the answer."""
        header = ingest_pb2.UploadHeader(
            org_id=request.org_id,
            campaign_id=request.campaign_id,
            source=common_pb2.UPLOAD_SOURCE_SFTP,
            file_name=request.file_name,
            metadata=common_pb2.CallMetadata(
                **{k: v for k, v in request.metadata.items() if k in _METADATA_FIELDS}
            ),
            declared_size_bytes=request.size_bytes,
            source_ref=request.source_ref,
        )
        try:
            accepted = await self._stream(header, chunks)
            call = await self._stub.GetCall(
                ingest_pb2.GetCallRequest(org_id=request.org_id, call_id=accepted.call_id),
                timeout=LOOKUP_TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as failed:
            if failed.code() in _REFUSALS:
                raise UploadRefusedError(failed.details() or "ingest refused the file") from failed
            raise IngestUnavailableError(_describe(failed)) from failed
        return UploadResult(
            call_id=accepted.call_id,
            duplicate_of=accepted.duplicate_of,
            duplicate_reason=accepted.duplicate_reason,
            agent_code=call.agent.code,
            agent_name=call.agent.name,
        )

    async def _stream(
        self, header: ingest_pb2.UploadHeader, chunks: AsyncIterator[bytes]
    ) -> ingest_pb2.UploadAccepted:
        call = self._stub.UploadCall(timeout=UPLOAD_TIMEOUT_S)
        try:
            await call.write(ingest_pb2.UploadCallRequest(header=header))
            first = await call.read()
            if _kind(first) == "accepted":  # a source_ref sent before: no bytes needed
                return _accepted(first)
            verdict = asyncio.create_task(call.read())
            async for chunk in chunks:
                if verdict.done():
                    break  # ingest said stop (or failed): send nothing more
                await call.write(ingest_pb2.UploadCallRequest(chunk=chunk))
            await call.done_writing()
            reply = await verdict
            if _kind(reply) == "stop":
                reply = await call.read()  # raises the call's error status
            if _kind(reply) != "accepted":
                raise IngestUnavailableError(f"ingest answered {_kind(reply)!r}, not 'accepted'")
            return _accepted(reply)
        except BaseException:
            call.cancel()
            raise

    async def close(self) -> None:
        """Closes the channel."""
        await self._channel.close()


def _kind(reply: object) -> str:
    if not isinstance(reply, ingest_pb2.UploadCallReply):
        return "end of stream"
    return reply.WhichOneof("reply") or "empty reply"


def _accepted(reply: object) -> ingest_pb2.UploadAccepted:
    assert isinstance(reply, ingest_pb2.UploadCallReply)
    accepted: ingest_pb2.UploadAccepted = reply.accepted
    return accepted


def _describe(failed: grpc.aio.AioRpcError) -> str:
    return f"ingest: {failed.code().name} {failed.details() or ''}".strip()
