"""Wires the sftp service: the SftpBatches gRPC API and the sweep loop."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager

from callscope.v1 import sftp_pb2_grpc
from callscope_common.grpc_server import create_server, mark_serving
from callscope_common.lifecycle import wait_for_shutdown_signal
from callscope_common.mongo import create_mongo_client, service_database

from callscope_sftp.adapters.grpc_clients import GrpcDirectory, GrpcIngest
from callscope_sftp.adapters.mongo_store import MongoSftpStore
from callscope_sftp.adapters.sftp_server import ServerAddress, connect
from callscope_sftp.entrypoints.grpc_api import SftpBatchesApi
from callscope_sftp.ports import DropFolders
from callscope_sftp.runner import SweepLoop
from callscope_sftp.settings import SftpSettings
from callscope_sftp.sweeper import SweepRules

logger = logging.getLogger(__name__)
APP_NAME = "callscope-sftp"


def server_address(settings: SftpSettings) -> ServerAddress:
    """Where the SFTP server is, from the settings."""
    return ServerAddress(
        host=settings.server_host,
        port=settings.server_port,
        user=settings.server_user,
        key_file=settings.server_key_file,
        host_key=settings.server_host_key,
        connect_timeout_s=settings.connect_timeout_s,
    )


async def serve(settings: SftpSettings) -> None:
    """Serves the API and sweeps until SIGINT/SIGTERM."""
    mongo = create_mongo_client(settings, APP_NAME)
    store = MongoSftpStore(service_database(mongo, settings), lease_s=settings.lease_s)
    await store.ensure_indexes()
    directory = GrpcDirectory(settings.directory_addr)
    ingest = GrpcIngest(settings.ingest_addr)
    address = server_address(settings)

    def open_session() -> AbstractAsyncContextManager[DropFolders]:
        return connect(address)

    loop = SweepLoop(
        directory=directory,
        ingest=ingest,
        store=store,
        connect=open_session,
        rules=SweepRules(
            settle_s=settings.settle_s,
            max_csv_bytes=settings.max_csv_bytes,
            chunk_bytes=settings.read_chunk_bytes,
            max_attempts=settings.max_import_attempts,
        ),
        replica_id=settings.replica_id,
        server_label=address.label,
        interval_s=settings.sweep_interval_s,
        max_parallel=settings.max_parallel_campaigns,
    )
    server, health = create_server(settings.grpc_port)
    sftp_pb2_grpc.add_SftpBatchesServicer_to_server(SftpBatchesApi(store), server)
    await server.start()
    sweeping = asyncio.create_task(loop.run_forever(), name="sftp-sweep")
    try:
        await mark_serving(health)
        logger.info(
            "sftp serving",
            extra={
                "grpc_port": settings.grpc_port,
                "server": address.label,
                "replica_id": settings.replica_id,
            },
        )
        await wait_for_shutdown_signal()
    finally:
        sweeping.cancel()
        await asyncio.gather(sweeping, return_exceptions=True)
        await server.stop(5)
        await directory.close()
        await ingest.close()
        await mongo.close()
