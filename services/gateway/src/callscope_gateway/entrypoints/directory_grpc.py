"""The `Directory` gRPC service: API keys, campaigns, agents and SFTP campaigns, looked up for
other services."""

from __future__ import annotations

import grpc
from callscope.v1 import common_pb2, directory_pb2, directory_pb2_grpc

from callscope_gateway import directory_handlers, handlers
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.agents import Agent
from callscope_gateway.domain.default_checks import CheckDefinition
from callscope_gateway.domain.directory import Campaign, SftpCampaign
from callscope_gateway.domain.sftp_settings import SftpSettings


class DirectoryServicer(directory_pb2_grpc.DirectoryServicer):
    """Answers from the gateway's own collections."""

    def __init__(self, directory: MongoDirectory) -> None:
        self._directory = directory

    async def ResolveApiKey(  # noqa: N802 - gRPC method name
        self,
        request: directory_pb2.ResolveApiKeyRequest,
        context: grpc.aio.ServicerContext[
            directory_pb2.ResolveApiKeyRequest, directory_pb2.ResolveApiKeyResponse
        ],
    ) -> directory_pb2.ResolveApiKeyResponse:
        """The scope of a valid key, or UNAUTHENTICATED."""
        scope = await handlers.resolve_api_key(request.api_key, self._directory)
        if scope is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid or revoked API key")
            raise AssertionError("unreachable: abort raises")
        return directory_pb2.ResolveApiKeyResponse(
            key_id=scope.key_id, org_id=scope.org_id, campaign_id=scope.campaign_id
        )

    async def GetCampaign(  # noqa: N802 - gRPC method name
        self,
        request: directory_pb2.GetCampaignRequest,
        context: grpc.aio.ServicerContext[directory_pb2.GetCampaignRequest, directory_pb2.Campaign],
    ) -> directory_pb2.Campaign:
        """A campaign of the given organisation, or NOT_FOUND."""
        campaign = await self._directory.get_campaign(request.org_id, request.campaign_id)
        if campaign is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"no campaign with id {request.campaign_id}"
            )
            raise AssertionError("unreachable: abort raises")
        return campaign_to_proto(campaign)

    async def FindAgent(  # noqa: N802 - gRPC method name
        self,
        request: directory_pb2.FindAgentRequest,
        context: grpc.aio.ServicerContext[directory_pb2.FindAgentRequest, directory_pb2.Agent],
    ) -> directory_pb2.Agent:
        """The organisation's agent with this code (any case) that works on the campaign."""
        agent = (
            await self._directory.find_agent(request.org_id, request.campaign_id, request.code)
            if request.code.strip()
            else None
        )
        if agent is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"no agent with code {request.code!r} on campaign {request.campaign_id}",
            )
            raise AssertionError("unreachable: abort raises")
        return agent_to_proto(agent)

    async def GetAgent(  # noqa: N802 - gRPC method name
        self,
        request: directory_pb2.GetAgentRequest,
        context: grpc.aio.ServicerContext[directory_pb2.GetAgentRequest, directory_pb2.Agent],
    ) -> directory_pb2.Agent:
        """An agent of the given organisation, or NOT_FOUND (another organisation's too)."""
        agent = await self._directory.get_agent(request.org_id, request.agent_id)
        if agent is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no agent with id {request.agent_id}")
            raise AssertionError("unreachable: abort raises")
        return agent_to_proto(agent)

    async def ListSftpCampaigns(  # noqa: N802 - gRPC method name
        self,
        request: directory_pb2.ListSftpCampaignsRequest,
        context: grpc.aio.ServicerContext[
            directory_pb2.ListSftpCampaignsRequest, directory_pb2.ListSftpCampaignsResponse
        ],
    ) -> directory_pb2.ListSftpCampaignsResponse:
        """Every organisation's campaigns with SFTP on, for the sftp service's sweeps.

        Internal: the Directory is reachable only inside the cluster, and the sftp service
        needs every organisation's campaigns; no principal is involved.
        """
        campaigns = await directory_handlers.list_sftp_campaigns(directory=self._directory)
        return directory_pb2.ListSftpCampaignsResponse(
            campaigns=[sftp_campaign_to_proto(campaign) for campaign in campaigns]
        )


def campaign_to_proto(campaign: Campaign) -> directory_pb2.Campaign:
    """The protobuf shape of a campaign."""
    return directory_pb2.Campaign(
        id=campaign.id,
        org_id=campaign.org_id,
        name=campaign.name,
        flag_threshold=campaign.flag_threshold,
        auto_processing=campaign.auto_processing,
        checks=[check_to_proto(check) for check in campaign.checks],
        transcription_provider=directory_pb2.TranscriptionProvider.Value(
            f"TRANSCRIPTION_PROVIDER_{campaign.transcription.provider.name}"
        ),
        agent_channel=directory_pb2.AudioChannel.Value(
            f"AUDIO_CHANNEL_{campaign.transcription.agent_channel.name}"
        ),
        opening_party=common_pb2.Speaker.Value(
            f"SPEAKER_{campaign.transcription.opening_party.name}"
        ),
        company_name=campaign.transcription.company_name,
        evaluator=directory_pb2.Evaluator.Value(f"EVALUATOR_{campaign.evaluation.evaluator.name}"),
        claude_model=campaign.evaluation.claude_model,
        sftp=sftp_settings_to_proto(campaign.sftp),
    )


def sftp_settings_to_proto(settings: SftpSettings) -> directory_pb2.SftpSettings:
    """The protobuf shape of a campaign's SFTP settings (never `..._UNSPECIFIED`)."""
    return directory_pb2.SftpSettings(
        enabled=settings.enabled,
        folder_slug=settings.folder_slug,
        csv=directory_pb2.SftpCsvRequirement.Value(f"SFTP_CSV_REQUIREMENT_{settings.csv.name}"),
        batch_window_seconds=settings.batch_window_seconds,
        agent_file_name_pattern=settings.agent_file_name_pattern,
    )


def sftp_campaign_to_proto(campaign: SftpCampaign) -> directory_pb2.SftpCampaign:
    """The protobuf shape of a campaign the sftp service sweeps."""
    return directory_pb2.SftpCampaign(
        org_id=campaign.org_id,
        campaign_id=campaign.campaign_id,
        campaign_name=campaign.campaign_name,
        org_folder=campaign.org_folder,
        settings=sftp_settings_to_proto(campaign.settings),
    )


def agent_to_proto(agent: Agent) -> directory_pb2.Agent:
    """The protobuf shape of an agent."""
    return directory_pb2.Agent(
        id=agent.id,
        org_id=agent.org_id,
        name=agent.name,
        code=agent.code,
        campaign_ids=list(agent.campaign_ids),
    )


def check_to_proto(check: CheckDefinition) -> directory_pb2.Check:
    """The protobuf shape of a check definition."""
    return directory_pb2.Check(
        id=check.id,
        name=check.name,
        question=check.question,
        category=check.category,
        weight=check.weight,
        critical=check.critical,
        speaker=common_pb2.Speaker.Value(f"SPEAKER_{check.speaker}"),
        phrases=list(check.phrases),
        window=directory_pb2.CheckWindow.Value(f"CHECK_WINDOW_{check.window}"),
        answer_type=directory_pb2.CheckAnswerType.Value(f"CHECK_ANSWER_TYPE_{check.answer_type}"),
        keywords=list(check.keywords),
        applies_when=list(check.applies_when),
    )
