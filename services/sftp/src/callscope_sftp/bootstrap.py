"""Wires the sftp service. For now it only serves its health: sweeping is a later feature."""

from __future__ import annotations

import logging

from callscope_common.grpc_server import create_server, mark_serving
from callscope_common.lifecycle import wait_for_shutdown_signal

from callscope_sftp.settings import SftpSettings

logger = logging.getLogger(__name__)


async def serve(settings: SftpSettings) -> None:
    """Serves the gRPC health service until SIGINT/SIGTERM."""
    server, health = create_server(settings.grpc_port)
    await server.start()
    try:
        await mark_serving(health)
        logger.info(
            "sftp serving health only; folder sweeping is not built yet",
            extra={"grpc_port": settings.grpc_port},
        )
        await wait_for_shutdown_signal()
    finally:
        await server.stop(5)
