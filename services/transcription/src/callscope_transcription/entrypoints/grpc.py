"""The `Transcripts` gRPC servicer: reads transcript versions for the other services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
from callscope.v1 import common_pb2, transcripts_pb2, transcripts_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from callscope_transcription.domain.errors import TranscriptNotFoundError
from callscope_transcription.domain.model import (
    GetTranscript,
    RoleSource,
    Speaker,
    SpeakerRoles,
    Transcript,
)

if TYPE_CHECKING:
    from callscope_transcription.bootstrap import TranscriptionService

TRANSCRIPTS_SERVICE = transcripts_pb2.DESCRIPTOR.services_by_name["Transcripts"].full_name

_SPEAKERS = {
    Speaker.AGENT: common_pb2.SPEAKER_AGENT,
    Speaker.CUSTOMER: common_pb2.SPEAKER_CUSTOMER,
    Speaker.UNKNOWN: common_pb2.SPEAKER_UNKNOWN,
}


_ROLE_SOURCES = {
    RoleSource.CHANNEL: transcripts_pb2.ROLE_SOURCE_CHANNEL,
    RoleSource.VOICES: transcripts_pb2.ROLE_SOURCE_VOICES,
    RoleSource.MANUAL: transcripts_pb2.ROLE_SOURCE_MANUAL,
}


class TranscriptsServicer(transcripts_pb2_grpc.TranscriptsServicer):
    """Serves transcript versions; another organisation's transcript is reported as not found."""

    def __init__(self, service: TranscriptionService) -> None:
        self._service = service

    # The method name is the contract's RPC name, which gRPC looks up by that spelling.
    async def GetTranscript(  # noqa: N802
        self, request: transcripts_pb2.GetTranscriptRequest, context: Any
    ) -> transcripts_pb2.Transcript:
        """A transcript version of a call (version 0 = the latest)."""
        if not request.org_id or not request.call_id:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "org_id and call_id are both required"
            )
        if request.version < 0:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"version must be 0 (the latest) or a version number, not {request.version}",
            )
        query = GetTranscript(
            org_id=request.org_id, call_id=request.call_id, version=request.version
        )
        try:
            transcript = await self._service.get(query)
        except TranscriptNotFoundError as error:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(error))
        return to_proto(transcript)


def to_proto(transcript: Transcript) -> transcripts_pb2.Transcript:
    """The contract message for a stored transcript."""
    created_at = Timestamp()
    created_at.FromDatetime(transcript.created_at)
    return transcripts_pb2.Transcript(
        id=transcript.id,
        call_id=transcript.call_id,
        org_id=transcript.org_id,
        version=transcript.version,
        provider=transcript.provider,
        model=transcript.model,
        language=transcript.language,
        duration_seconds=transcript.duration_seconds,
        segments=[
            transcripts_pb2.Segment(
                speaker=_SPEAKERS[segment.speaker],
                start=segment.start,
                end=segment.end,
                text=segment.text,
                words=[
                    transcripts_pb2.Word(
                        text=word.text,
                        start=word.start,
                        end=word.end,
                        probability=word.probability,
                    )
                    for word in segment.words
                ],
            )
            for segment in transcript.segments
        ],
        created_at=created_at,
        campaign_id=transcript.campaign_id,
        speaker_roles=_roles(transcript.speaker_roles),
        settings=dict(transcript.settings),
    )


def _roles(roles: SpeakerRoles | None) -> transcripts_pb2.SpeakerRoles | None:
    if roles is None:
        return None
    return transcripts_pb2.SpeakerRoles(
        source=_ROLE_SOURCES[roles.source],
        confidence=roles.confidence,
        needs_review=roles.needs_review,
        evidence=list(roles.evidence),
        swapped_by=roles.swapped_by,
        swapped_from_version=roles.swapped_from_version,
    )
