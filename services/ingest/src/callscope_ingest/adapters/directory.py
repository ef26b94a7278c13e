"""Campaign settings from the gateway's `Directory` gRPC service."""

from __future__ import annotations

import grpc
from callscope.v1 import directory_pb2, directory_pb2_grpc
from callscope_common.grpc_server import create_channel

from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError

_TIMEOUT_S = 10.0


class GrpcCampaignSettings:
    """Reads campaigns over one long-lived channel."""

    def __init__(self, directory_addr: str) -> None:
        self._channel = create_channel(directory_addr)
        self._directory = directory_pb2_grpc.DirectoryStub(self._channel)

    async def auto_processing(self, org_id: str, campaign_id: str) -> bool:
        """Whether the campaign sends new calls to transcription at once."""
        request = directory_pb2.GetCampaignRequest(org_id=org_id, campaign_id=campaign_id)
        try:
            campaign: directory_pb2.Campaign = await self._directory.GetCampaign(
                request, timeout=_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise UploadRejectedError(
                    RejectionCode.INVALID_REQUEST, "the campaign no longer exists"
                ) from error
            raise
        return bool(campaign.auto_processing)

    async def close(self) -> None:
        """Closes the channel."""
        await self._channel.close()
