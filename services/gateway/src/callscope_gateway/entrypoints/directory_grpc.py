"""The `Directory` gRPC service: API key resolution and campaign lookups for other services."""

from __future__ import annotations

import grpc
from callscope.v1 import common_pb2, directory_pb2, directory_pb2_grpc

from callscope_gateway import handlers
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.domain.default_checks import CheckDefinition
from callscope_gateway.domain.directory import Campaign


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


def campaign_to_proto(campaign: Campaign) -> directory_pb2.Campaign:
    """The protobuf shape of a campaign."""
    return directory_pb2.Campaign(
        id=campaign.id,
        org_id=campaign.org_id,
        name=campaign.name,
        flag_threshold=campaign.flag_threshold,
        auto_processing=campaign.auto_processing,
        checks=[check_to_proto(check) for check in campaign.checks],
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
    )
