"""Process entrypoint of the ingest service."""

from __future__ import annotations

import asyncio

from callscope_common.logging import configure_logging
from callscope_common.metrics import serve_metrics
from callscope_common.tracing import TracingSettings, configure_tracing

from callscope_ingest.bootstrap import serve
from callscope_ingest.settings import IngestSettings


def main() -> None:
    """Reads settings from the environment and serves until stopped."""
    settings = IngestSettings()  # type: ignore[call-arg]
    configure_logging("ingest", settings.log_level)
    tracing = configure_tracing("ingest", TracingSettings())
    serve_metrics(settings.metrics_port)
    try:
        asyncio.run(serve(settings))
    finally:
        tracing.shutdown()  # exports the spans still queued


if __name__ == "__main__":
    main()
