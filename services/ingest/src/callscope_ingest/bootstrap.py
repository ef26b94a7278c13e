"""Wires ingest's adapters into its handlers and entrypoints."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from callscope.v1 import ingest_pb2_grpc
from callscope_common.grpc_server import create_server, mark_serving
from callscope_common.kafka import EventConsumer, EventPublisher, create_producer
from callscope_common.lifecycle import run_until_shutdown
from callscope_common.mongo import create_mongo_client, service_database
from callscope_common.storage import open_object_store

from callscope_ingest.adapters.directory import GrpcDirectory
from callscope_ingest.adapters.ffprobe import FfprobeAudioProber
from callscope_ingest.adapters.kafka_backlog import KafkaStageBacklog
from callscope_ingest.adapters.mongo import MongoCallStore, MongoFingerprintStore
from callscope_ingest.adapters.mongo_jobs import MongoJobStore
from callscope_ingest.adapters.status_gauge import sampling_call_statuses
from callscope_ingest.dispatch import RelayRules
from callscope_ingest.domain.audio_rules import AudioLimits
from callscope_ingest.domain.watchdog import WatchdogRules
from callscope_ingest.entrypoints.grpc_api import IngestServicer
from callscope_ingest.entrypoints.subscriptions import subscriptions
from callscope_ingest.entrypoints.upkeep import run_relay, run_upload_sweep, run_watchdog
from callscope_ingest.handlers import IngestPorts
from callscope_ingest.ports import Publisher
from callscope_ingest.settings import IngestSettings

logger = logging.getLogger(__name__)


async def serve(settings: IngestSettings) -> None:
    """Runs the gRPC server and the Kafka consumer until SIGINT/SIGTERM."""
    limits = AudioLimits(
        max_bytes=settings.max_upload_bytes,
        min_duration_s=settings.min_duration_s,
        max_duration_s=settings.max_duration_s,
    )
    async with contextlib.AsyncExitStack() as stack:
        mongo = create_mongo_client(settings, "ingest")
        stack.push_async_callback(mongo.close)
        database = service_database(mongo, settings)
        calls = MongoCallStore(database)
        await calls.ensure_indexes()
        fingerprints = MongoFingerprintStore(database)
        await fingerprints.ensure_indexes()
        jobs = MongoJobStore(database)
        await jobs.ensure_indexes()
        await stack.enter_async_context(sampling_call_statuses(database))
        audio = await stack.enter_async_context(open_object_store(settings))
        await audio.ensure_bucket()
        producer = create_producer(settings.kafka_bootstrap_servers, "ingest")
        await producer.start()
        stack.push_async_callback(producer.stop)
        directory = GrpcDirectory(settings.directory_addr)
        stack.push_async_callback(directory.close)
        ports = IngestPorts(
            calls=calls,
            audio=audio,
            prober=FfprobeAudioProber(),
            publisher=EventPublisher(producer),
            fingerprints=fingerprints,
            jobs=jobs,
            campaigns=directory,
            agents=directory,
            hand_over_timeout_s=settings.hand_over_timeout_s,
        )
        server, health = create_server(settings.grpc_port)
        ingest_pb2_grpc.add_IngestServicer_to_server(
            IngestServicer(ports, limits, settings.spool_dir, settings.upload_idle_timeout_s),
            server,
        )
        await server.start()
        stack.push_async_callback(server.stop, 5)
        consumer = EventConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            create_missing_topics=settings.kafka_create_topics,
            group_id=settings.consumer_group,
            subscriptions=subscriptions(calls),
            producer=producer,
        )
        consuming = asyncio.create_task(consumer.run())
        await consumer.ready.wait()
        upkeep = _start_upkeep(settings, calls, jobs, ports.publisher)
        await mark_serving(health, "callscope.v1.Ingest")
        logger.info("ingest serving", extra={"grpc_port": settings.grpc_port})
        await run_until_shutdown(consuming, *upkeep)


def _start_upkeep(
    settings: IngestSettings, calls: MongoCallStore, jobs: MongoJobStore, publisher: Publisher
) -> list[asyncio.Task[None]]:
    """The outbox relay, the stuck-call watchdog and the orphaned-upload sweep, as tasks."""
    groups = [group.strip() for group in settings.watchdog_stage_groups.split(",") if group]
    relay = run_relay(
        calls,
        publisher,
        RelayRules(grace_s=settings.relay_grace_s, send_timeout_s=settings.hand_over_timeout_s),
        settings.relay_interval_s,
    )
    watchdog = run_watchdog(
        calls=calls,
        publisher=publisher,
        backlog=KafkaStageBacklog(settings.kafka_bootstrap_servers, groups),
        rules=WatchdogRules(
            stale_after_s=settings.watchdog_stale_after_s,
            stale_per_audio_s=settings.watchdog_stale_per_audio_s,
            max_redrives=settings.watchdog_max_redrives,
        ),
        interval_s=settings.watchdog_interval_s,
        send_timeout_s=settings.hand_over_timeout_s,
    )
    sweep = run_upload_sweep(jobs, settings.upload_claim_stale_s, settings.watchdog_interval_s)
    return [
        asyncio.create_task(relay, name="outbox relay"),
        asyncio.create_task(watchdog, name="watchdog"),
        asyncio.create_task(sweep, name="orphaned upload sweep"),
    ]
