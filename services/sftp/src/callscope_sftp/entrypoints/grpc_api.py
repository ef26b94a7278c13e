"""The SftpBatches gRPC API: what the sweeps recorded, for the gateway to show."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from callscope.v1 import common_pb2, sftp_pb2, sftp_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_sftp.adapters.mongo_store import MongoSftpStore
from callscope_sftp.domain.model import Batch, BatchStatus, FileStatus, TrackedFile

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_BATCH_FILES = 10_000


def _timestamp(value: dt.datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _page(size: int, token: str) -> tuple[int, int]:
    """(offset, limit) of a page; the token is the offset of the page's first item."""
    limit = DEFAULT_PAGE_SIZE if size <= 0 else min(size, MAX_PAGE_SIZE)
    offset = int(token) if token.isdigit() else 0
    return offset, limit


def file_to_proto(file: TrackedFile) -> sftp_pb2.SftpFile:
    """A file record as the API shows it."""
    moved = file.moved_name or file.display_name
    location = f"{file.location.value}/{moved}" if file.location.value else file.display_name
    return sftp_pb2.SftpFile(
        id=file.id,
        batch_id=file.batch_id,
        org_id=file.org_id,
        campaign_id=file.campaign_id,
        file_name=file.display_name,
        status=sftp_pb2.SftpFileStatus.Value(f"SFTP_FILE_STATUS_{file.status.value}"),
        reason=file.reason,
        size_bytes=file.size_bytes,
        call_id=file.call_id,
        agent_code=file.agent_code,
        agent_source=file.agent_source,
        csv_line=file.csv_line,
        metadata=common_pb2.CallMetadata(
            **{
                k: v
                for k, v in file.metadata.items()
                if k in common_pb2.CallMetadata.DESCRIPTOR.fields_by_name
            }
        ),
        location=location,
        detected_at=_timestamp(file.detected_at),
        updated_at=_timestamp(file.updated_at),
        is_csv=file.kind is not None and file.kind.value == "csv",
    )


def batch_to_proto(batch: Batch, files: list[TrackedFile] | None = None) -> sftp_pb2.SftpBatch:
    """A batch as the API shows it."""
    counts = batch.counts
    return sftp_pb2.SftpBatch(
        id=batch.id,
        org_id=batch.org_id,
        campaign_id=batch.campaign_id,
        status=sftp_pb2.SftpBatchStatus.Value(f"SFTP_BATCH_STATUS_{batch.status.value}"),
        reason=batch.reason,
        csv_file_name=batch.csv_file_name,
        missing_files=batch.missing_files,
        counts=sftp_pb2.SftpFileCounts(
            total=counts.total,
            completed=counts.completed,
            failed=counts.failed,
            duplicates=counts.duplicates,
            skipped=counts.skipped,
            missing=counts.missing,
        ),
        opened_at=_timestamp(batch.opened_at),
        window_ends_at=_timestamp(batch.window_ends_at),
        processing_started_at=_timestamp(batch.processing_started_at),
        finished_at=_timestamp(batch.finished_at),
        files=[file_to_proto(f) for f in files or []],
    )


class SftpBatchesApi(sftp_pb2_grpc.SftpBatchesServicer):
    """Reads the sweeps' records; every request is scoped to its organisation."""

    def __init__(self, store: MongoSftpStore) -> None:
        self._store = store

    async def ListBatches(  # noqa: N802 - gRPC method name
        self, request: sftp_pb2.ListSftpBatchesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sftp_pb2.ListSftpBatchesResponse:
        """A page of a campaign's batches, newest first."""
        offset, limit = _page(request.page_size, request.page_token)
        statuses = [
            BatchStatus(sftp_pb2.SftpBatchStatus.Name(s).removeprefix("SFTP_BATCH_STATUS_"))
            for s in request.statuses
            if s != sftp_pb2.SFTP_BATCH_STATUS_UNSPECIFIED
        ]
        batches = await self._store.list_batches(
            request.org_id, request.campaign_id, statuses, offset, limit + 1
        )
        more = len(batches) > limit
        return sftp_pb2.ListSftpBatchesResponse(
            batches=[batch_to_proto(b) for b in batches[:limit]],
            next_page_token=str(offset + limit) if more else "",
        )

    async def GetBatch(  # noqa: N802 - gRPC method name
        self, request: sftp_pb2.GetSftpBatchRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sftp_pb2.SftpBatch:
        """One batch with its files; NOT_FOUND outside the organisation."""
        batch = await self._store.get_batch(request.batch_id) if request.batch_id else None
        if batch is None or batch.org_id != request.org_id:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no batch with id {request.batch_id}")
            raise AssertionError("unreachable: abort raises")
        files = await self._store.batch_files(batch.id)
        return batch_to_proto(batch, files[:MAX_BATCH_FILES])

    async def ListFiles(  # noqa: N802 - gRPC method name
        self, request: sftp_pb2.ListSftpFilesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sftp_pb2.ListSftpFilesResponse:
        """A page of a campaign's files, newest first."""
        offset, limit = _page(request.page_size, request.page_token)
        statuses = [
            FileStatus(sftp_pb2.SftpFileStatus.Name(s).removeprefix("SFTP_FILE_STATUS_"))
            for s in request.statuses
            if s != sftp_pb2.SFTP_FILE_STATUS_UNSPECIFIED
        ]
        files = await self._store.list_files(
            request.org_id, request.campaign_id, statuses, request.batch_id, offset, limit + 1
        )
        more = len(files) > limit
        return sftp_pb2.ListSftpFilesResponse(
            files=[file_to_proto(f) for f in files[:limit]],
            next_page_token=str(offset + limit) if more else "",
        )

    async def GetSweeperStatus(  # noqa: N802 - gRPC method name
        self, request: sftp_pb2.GetSweeperStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sftp_pb2.SweeperStatusList:
        """Each replica's last sweep."""
        return sftp_pb2.SweeperStatusList(
            replicas=[
                sftp_pb2.SweeperStatus(
                    replica_id=str(d["_id"]),
                    server=d.get("server", ""),
                    connected=bool(d.get("connected")),
                    last_error=d.get("last_error", ""),
                    last_sweep_at=_timestamp(d.get("last_sweep_at")),
                    last_success_at=_timestamp(d.get("last_success_at")),
                    campaigns_held=int(d.get("campaigns_held", 0)),
                )
                for d in await self._store.sweepers()
            ]
        )
