"""gRPC clients of the peers analysis reads from: Transcripts and the gateway's Directory.

NOT_FOUND becomes a domain error (the handler reports the call as FAILED);
every other status, UNAVAILABLE and DEADLINE_EXCEEDED included, propagates so
that the Kafka consumer retries the event and, if it keeps failing, dead-letters it.
"""

from __future__ import annotations

import grpc
from callscope.v1 import directory_pb2, directory_pb2_grpc, transcripts_pb2, transcripts_pb2_grpc

from callscope_analysis.adapters.protobuf import campaign_from_pb, transcript_from_pb
from callscope_analysis.domain.model import Campaign, Transcript
from callscope_analysis.ports import CampaignNotFoundError, TranscriptNotFoundError

# A transcript of a 3-hour call is a few megabytes; a slow peer should time out
# and let the consumer retry rather than hold the partition indefinitely.
DEFAULT_TIMEOUT_S = 30.0


class GrpcTranscriptSource:
    """Reads transcript versions from the transcription service."""

    def __init__(self, channel: grpc.aio.Channel, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._stub = transcripts_pb2_grpc.TranscriptsStub(channel)
        self._timeout_s = timeout_s

    async def get_transcript(self, org_id: str, call_id: str, version: int) -> Transcript:
        """A transcript version (0 = the latest); raises TranscriptNotFoundError."""
        request = transcripts_pb2.GetTranscriptRequest(
            org_id=org_id, call_id=call_id, version=version
        )
        try:
            response = await self._stub.GetTranscript(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise TranscriptNotFoundError(error.details() or "transcript not found") from error
            raise
        return transcript_from_pb(response)


class GrpcCampaignDirectory:
    """Reads campaigns and their checks from the gateway's directory."""

    def __init__(self, channel: grpc.aio.Channel, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._stub = directory_pb2_grpc.DirectoryStub(channel)
        self._timeout_s = timeout_s

    async def get_campaign(self, org_id: str, campaign_id: str) -> Campaign:
        """A campaign with its current checks; raises CampaignNotFoundError."""
        request = directory_pb2.GetCampaignRequest(org_id=org_id, campaign_id=campaign_id)
        try:
            response = await self._stub.GetCampaign(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise CampaignNotFoundError(error.details() or "campaign not found") from error
            raise
        return campaign_from_pb(response)
