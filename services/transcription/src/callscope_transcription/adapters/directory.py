"""Campaign transcription rules from the gateway's `Directory` gRPC service."""

from __future__ import annotations

import logging

import grpc
from callscope.v1 import common_pb2, directory_pb2, directory_pb2_grpc
from callscope_common.grpc_server import create_channel

from callscope_transcription.domain.model import Speaker
from callscope_transcription.domain.roles import RoleRules
from callscope_transcription.ports import CampaignRules

logger = logging.getLogger(__name__)

_TIMEOUT_S = 10.0
_PROVIDERS = {
    directory_pb2.TRANSCRIPTION_PROVIDER_LOCAL: "local",
    directory_pb2.TRANSCRIPTION_PROVIDER_ASSEMBLYAI: "assemblyai",
    directory_pb2.TRANSCRIPTION_PROVIDER_DEEPGRAM: "deepgram",
}
_CHANNELS = {directory_pb2.AUDIO_CHANNEL_LEFT: "left", directory_pb2.AUDIO_CHANNEL_RIGHT: "right"}


class GrpcCampaignDirectory:
    """Reads a campaign's rules for every call, so a settings change applies to the next call."""

    def __init__(self, directory_addr: str, *, default_agent_channel: str = "left") -> None:
        self._channel = create_channel(directory_addr)
        self._directory = directory_pb2_grpc.DirectoryStub(self._channel)
        self._default_agent_channel = default_agent_channel

    async def rules(self, org_id: str, campaign_id: str) -> CampaignRules:
        """The campaign's rules; the defaults when the campaign no longer exists.

        A directory that cannot be reached raises, so the event is retried rather
        than transcribed with settings that may be wrong.
        """
        request = directory_pb2.GetCampaignRequest(org_id=org_id, campaign_id=campaign_id)
        try:
            campaign: directory_pb2.Campaign = await self._directory.GetCampaign(
                request, timeout=_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            logger.warning("campaign not found; transcribing with the default rules")
            return CampaignRules(roles=RoleRules(agent_channel=self._default_agent_channel))
        return campaign_rules(campaign, default_agent_channel=self._default_agent_channel)

    async def close(self) -> None:
        """Closes the channel."""
        await self._channel.close()


def campaign_rules(
    campaign: directory_pb2.Campaign, *, default_agent_channel: str = "left"
) -> CampaignRules:
    """The rules a campaign message sets; unset fields take the defaults."""
    opening = (
        Speaker.CUSTOMER if campaign.opening_party == common_pb2.SPEAKER_CUSTOMER else Speaker.AGENT
    )
    return CampaignRules(
        provider=_PROVIDERS.get(campaign.transcription_provider, "local"),
        roles=RoleRules(
            agent_channel=_CHANNELS.get(campaign.agent_channel, default_agent_channel),
            opening_party=opening,
            company_name=campaign.company_name.strip(),
        ),
    )
