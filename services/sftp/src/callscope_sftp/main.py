"""Process entrypoint of the sftp service."""

from __future__ import annotations

import asyncio

from callscope_common.logging import configure_logging
from callscope_common.metrics import serve_metrics
from callscope_common.tracing import TracingSettings, configure_tracing

from callscope_sftp.bootstrap import serve
from callscope_sftp.settings import SftpSettings


def main() -> None:
    """Reads settings from the environment and serves until stopped."""
    settings = SftpSettings()  # type: ignore[call-arg]
    configure_logging("sftp", settings.log_level)
    tracing = configure_tracing("sftp", TracingSettings())
    serve_metrics(settings.metrics_port)
    try:
        asyncio.run(serve(settings))
    finally:
        tracing.shutdown()  # exports the spans still queued


if __name__ == "__main__":
    main()
