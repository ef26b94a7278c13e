"""Wires the gateway: directory in MongoDB, peer clients, HTTP app and Directory gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from callscope.v1 import directory_pb2_grpc
from callscope_common.grpc_server import create_server, mark_serving
from callscope_common.lifecycle import run_until_shutdown
from callscope_common.mongo import create_mongo_client, service_database

from callscope_gateway import directory_handlers, handlers
from callscope_gateway.adapters.grpc_clients import PeerClients
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.adapters.mongo_audit import MongoAuditLog
from callscope_gateway.adapters.mongo_rate_limit import MongoRateLimiter
from callscope_gateway.adapters.mongo_sessions import MongoSessionStore
from callscope_gateway.domain.access import AccessPolicy
from callscope_gateway.entrypoints.context import ApiContext
from callscope_gateway.entrypoints.directory_grpc import DirectoryServicer
from callscope_gateway.entrypoints.http_api import create_app
from callscope_gateway.settings import GatewaySettings

logger = logging.getLogger(__name__)


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to `run_until_shutdown`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Installs no signal handlers."""
        yield


async def serve(settings: GatewaySettings) -> None:
    """Runs the HTTP server and the Directory gRPC server until SIGINT/SIGTERM."""
    async with contextlib.AsyncExitStack() as stack:
        mongo = create_mongo_client(settings, "gateway")
        stack.push_async_callback(mongo.close)
        directory = MongoDirectory(service_database(mongo, settings))
        await directory.ensure_indexes()
        sessions = MongoSessionStore(service_database(mongo, settings))
        await sessions.ensure_indexes()
        rate_limiter = MongoRateLimiter(service_database(mongo, settings))
        await rate_limiter.ensure_indexes()
        audit = MongoAuditLog(service_database(mongo, settings))
        await audit.ensure_indexes()
        if settings.demo_credentials_file is not None:
            demo = await handlers.ensure_demo(directory, settings.demo_credentials_file)
            await directory_handlers.ensure_demo_agent(directory, demo.org_id, demo.campaign_id)
            await directory_handlers.ensure_demo_sftp(directory, demo.org_id, demo.campaign_id)
        peers = PeerClients(
            settings.ingest_addr,
            settings.transcripts_addr,
            settings.analyses_addr,
            settings.sftp_addr,
        )
        stack.push_async_callback(peers.close)

        server, health = create_server(settings.grpc_port)
        directory_pb2_grpc.add_DirectoryServicer_to_server(DirectoryServicer(directory), server)
        await server.start()
        stack.push_async_callback(server.stop, 5)
        await mark_serving(health, "callscope.v1.Directory")

        policy = AccessPolicy(
            session_ttl_s=settings.session_ttl_s,
            default_rate_limit_per_minute=settings.api_key_rate_limit_per_minute,
        )
        app = create_app(
            ApiContext(
                directory=directory,
                peers=peers,
                sessions=sessions,
                rate_limiter=rate_limiter,
                policy=policy,
                audit=audit,
            )
        )
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        http = _QuietServer(config)
        serving = asyncio.create_task(http.serve())
        logger.info(
            "gateway serving",
            extra={"http_port": settings.http_port, "grpc_port": settings.grpc_port},
        )
        try:
            await run_until_shutdown(serving)
        finally:
            http.should_exit = True
