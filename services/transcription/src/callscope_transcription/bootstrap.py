"""Wires adapters into the handlers: `bootstrap()` for any ports, `serve()` for the real process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from callscope.v1 import transcripts_pb2_grpc
from callscope_common.grpc_server import create_server, mark_serving
from callscope_common.kafka import EventConsumer, EventPublisher, create_producer
from callscope_common.lifecycle import run_until_shutdown
from callscope_common.mongo import create_mongo_client, service_database
from callscope_common.storage import open_object_store
from grpc_health.v1 import health as grpc_health
from grpc_health.v1 import health_pb2

from callscope_transcription import handlers
from callscope_transcription.adapters.directory import GrpcCampaignDirectory
from callscope_transcription.adapters.kafka import KafkaEventSink
from callscope_transcription.adapters.mongo import COLLECTION, MongoTranscriptStore
from callscope_transcription.adapters.probe import FfmpegProber
from callscope_transcription.adapters.providers import build_providers, close_providers
from callscope_transcription.adapters.s3 import S3AudioStore
from callscope_transcription.domain.model import (
    DeleteCallTranscripts,
    GetTranscript,
    SwapSpeakers,
    TranscribeCall,
    Transcript,
)
from callscope_transcription.entrypoints.grpc import TRANSCRIPTS_SERVICE, TranscriptsServicer
from callscope_transcription.entrypoints.kafka import subscriptions
from callscope_transcription.ports import (
    AudioProber,
    AudioStore,
    CampaignDirectory,
    EventSink,
    SpeechProvider,
    TranscriptStore,
)
from callscope_transcription.settings import TranscriptionSettings

logger = logging.getLogger(__name__)

SERVICE_NAME = "callscope-transcription"
_GRPC_GRACE_S = 5.0


@dataclass(frozen=True)
class TranscriptionService:
    """The handlers bound to their ports; what the entrypoints call."""

    store: TranscriptStore
    audio_store: AudioStore
    prober: AudioProber
    providers: Mapping[str, SpeechProvider]
    directory: CampaignDirectory
    events: EventSink

    async def transcribe(self, command: TranscribeCall) -> Transcript | None:
        """Transcribes a call into a new version (see handlers.transcribe_call)."""
        return await handlers.transcribe_call(
            command,
            store=self.store,
            audio_store=self.audio_store,
            prober=self.prober,
            providers=self.providers,
            directory=self.directory,
            events=self.events,
        )

    async def swap(self, command: SwapSpeakers) -> Transcript | None:
        """Stores a version with agent and customer exchanged (see handlers.swap_speakers)."""
        return await handlers.swap_speakers(command, store=self.store, events=self.events)

    async def delete(self, command: DeleteCallTranscripts) -> int:
        """Deletes a deleted call's transcripts."""
        return await handlers.delete_call_transcripts(command, store=self.store)

    async def get(self, query: GetTranscript) -> Transcript:
        """Reads one transcript version; TranscriptNotFoundError if there is none."""
        return await handlers.get_transcript(query, store=self.store)


def bootstrap(
    *,
    store: TranscriptStore,
    audio_store: AudioStore,
    prober: AudioProber,
    providers: Mapping[str, SpeechProvider],
    directory: CampaignDirectory,
    events: EventSink,
) -> TranscriptionService:
    """Binds the handlers to the given ports (real adapters or test fakes)."""
    return TranscriptionService(
        store=store,
        audio_store=audio_store,
        prober=prober,
        providers=providers,
        directory=directory,
        events=events,
    )


async def serve(settings: TranscriptionSettings) -> None:
    """Runs the service until SIGTERM: the Kafka consumer and the gRPC server, sharing one model."""
    # Loading (and hashing) the model takes seconds of CPU; it happens once, before anything
    # is consumed, and a bad model stops the process here with a clear error.
    providers = await build_providers(settings)
    directory = GrpcCampaignDirectory(
        settings.directory_addr, default_agent_channel=settings.agent_channel
    )
    mongo = create_mongo_client(settings, SERVICE_NAME)
    producer = create_producer(settings.kafka_bootstrap_servers, SERVICE_NAME)
    server, health = create_server(settings.grpc_port)
    # The health service reports the whole server as serving from the start; it is not yet.
    await health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    try:
        store = MongoTranscriptStore(service_database(mongo, settings)[COLLECTION])
        await store.ensure_indexes()
        await producer.start()
        async with open_object_store(settings) as objects:
            service = bootstrap(
                store=store,
                audio_store=S3AudioStore(objects),
                prober=FfmpegProber(),
                providers=providers,
                directory=directory,
                events=KafkaEventSink(EventPublisher(producer)),
            )
            transcripts_pb2_grpc.add_TranscriptsServicer_to_server(
                TranscriptsServicer(service), server
            )
            await server.start()
            consumer = EventConsumer(
                bootstrap_servers=settings.kafka_bootstrap_servers,
                create_missing_topics=settings.kafka_create_topics,
                group_id=settings.consumer_group,
                subscriptions=subscriptions(service),
                producer=producer,
                max_in_flight=settings.max_in_flight_calls,
            )
            consuming = asyncio.create_task(consumer.run(), name="consumer")
            readiness = asyncio.create_task(_mark_ready(consumer, health), name="readiness")
            logger.info("transcription service started", extra={"grpc_port": settings.grpc_port})
            try:
                await run_until_shutdown(consuming)
            finally:
                readiness.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await readiness
    finally:
        await server.stop(_GRPC_GRACE_S)
        await producer.stop()
        await directory.close()
        await close_providers(providers)
        await mongo.close()
        logger.info("transcription service stopped")


async def _mark_ready(consumer: EventConsumer, health: grpc_health.aio.HealthServicer) -> None:
    """Marks the server SERVING once the consumer has joined its group (the model is loaded)."""
    await consumer.ready.wait()
    await mark_serving(health, TRANSCRIPTS_SERVICE)
    logger.info("transcription service ready")
