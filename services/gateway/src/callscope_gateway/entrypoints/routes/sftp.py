"""Routes of SFTP ingestion: a campaign's batches and files, and the sweepers' status.

The sftp service owns batches and files and answers over gRPC (`SftpBatches`); the gateway
decides who may see which campaign's, and shapes the answers.
"""

from __future__ import annotations

from typing import Annotated, Any

import grpc
from callscope.v1 import sftp_pb2
from fastapi import APIRouter, Depends, Query

from callscope_gateway.domain.access import Permission, Principal
from callscope_gateway.domain.errors import GatewayError
from callscope_gateway.entrypoints.context import Context
from callscope_gateway.entrypoints.errors import COMMON_ERRORS, error_responses, from_rpc
from callscope_gateway.entrypoints.principal import allowed
from callscope_gateway.entrypoints.query_params import enum_value, split
from callscope_gateway.entrypoints.routes.jobs import campaign_in_scope
from callscope_gateway.entrypoints.schemas import (
    SftpBatch,
    SftpBatchPage,
    SftpFilePage,
    SweeperStatus,
)
from callscope_gateway.entrypoints.sftp_views import batch_view, file_view, sweeper_view

# Batches and files are a campaign's calls on their way in: who sees its uploads sees them
# (an Agent, who sees only their own calls, does not).
Viewer = Annotated[Principal, Depends(allowed(Permission.VIEW_UPLOADS))]
SftpAdmin = Annotated[Principal, Depends(allowed(Permission.CONFIGURE_SFTP))]
PageSize = Annotated[int, Query(ge=1, le=200)]
Statuses = Annotated[list[str] | None, Query()]

_SERVICE = "the SFTP service"

router = APIRouter(prefix="/api/v1", tags=["sftp"])

# A campaign (or batch) that does not exist or is out of the principal's scope.
_SCOPED_ERRORS = error_responses(*COMMON_ERRORS, "not_found")


@router.get(
    "/campaigns/{campaign_id}/sftp/batches", response_model=SftpBatchPage, responses=_SCOPED_ERRORS
)
async def list_batches(  # one keyword parameter per query parameter
    *,
    campaign_id: str,
    principal: Viewer,
    context: Context,
    status: Statuses = None,
    page_size: PageSize = 50,
    page_token: str = "",
) -> dict[str, Any]:
    """The campaign's batches, newest first, optionally of some statuses, a page at a time."""
    await campaign_in_scope(campaign_id, principal, context)
    request = sftp_pb2.ListSftpBatchesRequest(
        org_id=principal.org_id,
        campaign_id=campaign_id,
        statuses=[
            enum_value(sftp_pb2.SftpBatchStatus, "SFTP_BATCH_STATUS_", s) for s in split(status)
        ],
        page_size=page_size,
        page_token=page_token,
    )
    try:
        page = await context.peers.list_sftp_batches(request)
    except grpc.aio.AioRpcError as error:
        raise _from_sftp(error) from error
    return {
        "batches": [batch_view(batch, with_files=False) for batch in page.batches],
        "next_page_token": page.next_page_token or None,
    }


@router.get(
    "/campaigns/{campaign_id}/sftp/batches/{batch_id}",
    response_model=SftpBatch,
    responses=_SCOPED_ERRORS,
)
async def get_batch(
    campaign_id: str, batch_id: str, principal: Viewer, context: Context
) -> dict[str, Any]:
    """One batch of the campaign with every file, its status and reason."""
    await campaign_in_scope(campaign_id, principal, context)
    not_found = f"campaign {campaign_id} has no SFTP batch with id {batch_id}"
    try:
        batch = await context.peers.get_sftp_batch(principal.org_id, batch_id)
    except grpc.aio.AioRpcError as error:
        raise _from_sftp(error, not_found) from error
    # The sftp service scopes by organisation; the campaign in the path must be the batch's.
    if batch.campaign_id != campaign_id or batch.org_id != principal.org_id:
        raise GatewayError("not_found", not_found)
    return batch_view(batch, with_files=True)


@router.get(
    "/campaigns/{campaign_id}/sftp/files", response_model=SftpFilePage, responses=_SCOPED_ERRORS
)
async def list_files(  # one keyword parameter per query parameter
    *,
    campaign_id: str,
    principal: Viewer,
    context: Context,
    status: Statuses = None,
    batch_id: str = "",
    page_size: PageSize = 50,
    page_token: str = "",
) -> dict[str, Any]:
    """The campaign's files, newest first, optionally of one batch or some statuses."""
    await campaign_in_scope(campaign_id, principal, context)
    request = sftp_pb2.ListSftpFilesRequest(
        org_id=principal.org_id,
        campaign_id=campaign_id,
        statuses=[
            enum_value(sftp_pb2.SftpFileStatus, "SFTP_FILE_STATUS_", s) for s in split(status)
        ],
        batch_id=batch_id,
        page_size=page_size,
        page_token=page_token,
    )
    try:
        page = await context.peers.list_sftp_files(request)
    except grpc.aio.AioRpcError as error:
        raise _from_sftp(error, f"campaign {campaign_id} has no SFTP batch {batch_id}") from error
    return {
        "files": [file_view(file) for file in page.files],
        "next_page_token": page.next_page_token or None,
    }


@router.get("/sftp/status", response_model=SweeperStatus, responses=error_responses(*COMMON_ERRORS))
async def sweeper_status(principal: SftpAdmin, context: Context) -> dict[str, Any]:
    """Each sftp replica's last connection to the SFTP server (a changed host key shows here)."""
    try:
        status = await context.peers.get_sweeper_status()
    except grpc.aio.AioRpcError as error:
        raise _from_sftp(error) from error
    return {"replicas": [sweeper_view(replica) for replica in status.replicas]}


def _from_sftp(error: grpc.aio.AioRpcError, not_found: str = "not found") -> GatewayError:
    # A service without SftpBatches is an sftp service older than this gateway: for the
    # client that is the same as one that is down.
    if error.code() == grpc.StatusCode.UNIMPLEMENTED:
        return GatewayError(
            "service_unavailable",
            f"{_SERVICE} does not answer batch requests (it runs an older version); "
            "try again once it is updated",
        )
    return from_rpc(error, not_found, service=_SERVICE)
