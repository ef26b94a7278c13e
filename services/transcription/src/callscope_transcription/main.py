"""Process entrypoint: `callscope-transcription` reads its settings and runs the service."""

from __future__ import annotations

import asyncio
import logging

from callscope_common.logging import configure_logging
from callscope_common.metrics import serve_metrics
from callscope_common.tracing import TracingSettings, configure_tracing

from callscope_transcription.bootstrap import serve
from callscope_transcription.domain.errors import ModelIntegrityError
from callscope_transcription.settings import TranscriptionSettings

logger = logging.getLogger(__name__)


def main() -> None:
    """Builds settings from the environment, configures logging and serves until SIGTERM."""
    settings = TranscriptionSettings()  # type: ignore[call-arg]  # values come from the env
    configure_logging("transcription", settings.log_level)
    tracing = configure_tracing("transcription", TracingSettings())
    serve_metrics(settings.metrics_port)
    try:
        asyncio.run(serve(settings))
    except ModelIntegrityError as error:
        # A wrong model is an operator's problem with a precise fix; a traceback adds nothing.
        logger.critical("cannot start: %s", error)
        raise SystemExit(1) from None
    finally:
        tracing.shutdown()  # exports the spans still queued


if __name__ == "__main__":
    main()
