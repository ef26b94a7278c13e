"""Process entrypoint of the gateway."""

from __future__ import annotations

import asyncio

from callscope_common.logging import configure_logging
from callscope_common.tracing import TracingSettings, configure_tracing

from callscope_gateway.bootstrap import serve
from callscope_gateway.settings import GatewaySettings


def main() -> None:
    """Reads settings from the environment and serves until stopped."""
    settings = GatewaySettings()  # type: ignore[call-arg]
    configure_logging("gateway", settings.log_level)
    tracing = configure_tracing("gateway", TracingSettings())
    try:
        asyncio.run(serve(settings))
    finally:
        tracing.shutdown()  # exports the spans still queued


if __name__ == "__main__":
    main()
