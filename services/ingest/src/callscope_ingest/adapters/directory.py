"""Campaign settings and agents from the gateway's `Directory` gRPC service."""

from __future__ import annotations

from collections.abc import Awaitable

import grpc
from callscope.v1 import directory_pb2, directory_pb2_grpc
from callscope_common.grpc_server import create_channel

from callscope_ingest.domain.agents import Agent
from callscope_ingest.domain.errors import RejectionCode, UploadRejectedError

_TIMEOUT_S = 10.0


class GrpcDirectory:
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

    async def find_agent(self, org_id: str, campaign_id: str, code: str) -> Agent | None:
        """The agent with this code among the campaign's agents, None when there is none."""
        request = directory_pb2.FindAgentRequest(org_id=org_id, campaign_id=campaign_id, code=code)
        return await self._agent(self._directory.FindAgent(request, timeout=_TIMEOUT_S))

    async def get_agent(self, org_id: str, agent_id: str) -> Agent | None:
        """An agent of the organisation, None when there is none."""
        request = directory_pb2.GetAgentRequest(org_id=org_id, agent_id=agent_id)
        return await self._agent(self._directory.GetAgent(request, timeout=_TIMEOUT_S))

    @staticmethod
    async def _agent(reply: Awaitable[directory_pb2.Agent]) -> Agent | None:
        try:
            agent = await reply
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return Agent(
            id=agent.id, name=agent.name, code=agent.code, campaign_ids=tuple(agent.campaign_ids)
        )

    async def close(self) -> None:
        """Closes the channel."""
        await self._channel.close()
