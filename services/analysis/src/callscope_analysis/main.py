"""Process entrypoint: settings, wiring, then the gRPC server, the consumer and (with Claude)
the Message Batches runner until SIGTERM."""

from __future__ import annotations

import asyncio

from callscope_common.grpc_server import create_server, mark_serving
from callscope_common.kafka import EventConsumer, EventPublisher
from callscope_common.lifecycle import run_until_shutdown
from callscope_common.logging import configure_logging
from callscope_common.metrics import serve_metrics
from callscope_common.tracing import TracingSettings, configure_tracing

from callscope_analysis.bootstrap import (
    bootstrap,
    build_batch_runner,
    build_evaluators,
    connect,
)
from callscope_analysis.entrypoints import grpc as grpc_entrypoint
from callscope_analysis.entrypoints.kafka import subscriptions
from callscope_analysis.settings import AnalysisSettings

# Seconds in-flight GetAnalysis calls get to finish on shutdown.
_GRACE_S = 5.0


async def serve(settings: AnalysisSettings) -> None:
    """Runs the Analyses gRPC server, the pipeline consumer and, when Claude is set up, the
    Message Batches runner until a shutdown signal."""
    async with connect(settings) as infrastructure:
        publisher = EventPublisher(infrastructure.producer)
        evaluators = build_evaluators(settings, infrastructure.claude)
        batch_runner = build_batch_runner(
            settings,
            claude=infrastructure.claude,
            queue=infrastructure.batch_queue,
            transcripts=infrastructure.transcripts,
            directory=infrastructure.directory,
            store=infrastructure.store,
            publisher=publisher,
            evaluators=evaluators,
        )
        service = bootstrap(
            transcripts=infrastructure.transcripts,
            directory=infrastructure.directory,
            store=infrastructure.store,
            publisher=publisher,
            evaluators=evaluators,
            # Without Claude there is nothing to batch: every re-run runs at once.
            batch_queue=infrastructure.batch_queue if batch_runner is not None else None,
        )
        server, health = create_server(settings.grpc_port)
        grpc_entrypoint.add_to_server(server, service)
        await server.start()
        consumer = EventConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            create_missing_topics=settings.kafka_create_topics,
            group_id=settings.consumer_group,
            subscriptions=subscriptions(service),
            producer=infrastructure.producer,
            max_in_flight=settings.max_in_flight_calls,
        )
        await mark_serving(health, grpc_entrypoint.SERVICE_NAME)
        workers = [
            asyncio.create_task(consumer.run()),
            asyncio.create_task(server.wait_for_termination()),
        ]
        if batch_runner is not None:
            workers.append(asyncio.create_task(batch_runner.run()))
        try:
            await run_until_shutdown(*workers)
        finally:
            await server.stop(_GRACE_S)


def main() -> None:
    """`callscope-analysis`: refuses to start without its required settings."""
    settings = AnalysisSettings()  # type: ignore[call-arg]  # values come from the environment
    configure_logging("analysis", settings.log_level)
    tracing = configure_tracing("analysis", TracingSettings())
    serve_metrics(settings.metrics_port)
    try:
        asyncio.run(serve(settings))
    finally:
        tracing.shutdown()  # exports the spans still queued


if __name__ == "__main__":
    main()
