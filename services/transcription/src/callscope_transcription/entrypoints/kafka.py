"""Kafka subscriptions: decode the event, build a command, call the handler, map failures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callscope.v1 import events_pb2
from callscope_common.kafka import PermanentEventError, Subscription
from callscope_common.stage_timing import timed_stage

from callscope_transcription.domain.errors import MisroutedAudioError
from callscope_transcription.domain.model import (
    AudioLocation,
    CallContext,
    DeleteCallTranscripts,
    SwapSpeakers,
    TranscribeCall,
)

if TYPE_CHECKING:
    from callscope_transcription.bootstrap import TranscriptionService

# The stage label of callscope_stage_seconds.
STAGE = "transcription"


def subscriptions(service: TranscriptionService) -> list[Subscription[Any]]:
    """What this service consumes: uploaded calls, re-run requests and deleted calls."""

    async def on_call_uploaded(event: events_pb2.CallUploaded) -> None:
        await _transcribe(service, event.header, event.audio)

    async def on_transcription_requested(event: events_pb2.TranscriptionRequested) -> None:
        if event.swap_speakers:
            await service.swap(
                SwapSpeakers(
                    context=_context(event.header),
                    of_version=max(0, event.swap_of_version),
                    requested_by=event.requested_by,
                )
            )
            return
        await _transcribe(service, event.header, event.audio)

    async def on_call_deleted(event: events_pb2.CallDeleted) -> None:
        await service.delete(
            DeleteCallTranscripts(call_id=event.header.call_id, org_id=event.header.org_id)
        )

    # Transcribing (or swapping speakers) is the stage; deleting a call's transcripts is not.
    return [
        Subscription(events_pb2.CallUploaded, timed_stage(STAGE, on_call_uploaded)),
        Subscription(
            events_pb2.TranscriptionRequested, timed_stage(STAGE, on_transcription_requested)
        ),
        Subscription(events_pb2.CallDeleted, on_call_deleted),
    ]


async def _transcribe(service: TranscriptionService, header: Any, audio: Any) -> None:
    """Transcribes; events that can never succeed go straight to the dead-letter topic."""
    command = TranscribeCall(
        context=_context(header), audio=AudioLocation(bucket=audio.bucket, key=audio.key)
    )
    try:
        await service.transcribe(command)
    except MisroutedAudioError as error:
        raise PermanentEventError(str(error)) from error


def _context(header: Any) -> CallContext:
    """The call and cause of an event; refuses events that cannot be handled idempotently."""
    if not header.event_id:
        # The event id is what makes a redelivery recognisable; without it a retry could
        # store a second version, so the event is refused rather than guessed at.
        raise PermanentEventError("event has no event_id; it cannot be processed idempotently")
    return CallContext(
        call_id=header.call_id,
        org_id=header.org_id,
        campaign_id=header.campaign_id,
        cause_event_id=header.event_id,
    )
