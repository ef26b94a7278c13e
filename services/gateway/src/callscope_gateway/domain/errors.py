"""Errors the gateway reports to its clients, each with a stable code and words for people."""

from __future__ import annotations


class GatewayError(Exception):
    """A request the gateway refuses; entrypoints map the code to a transport status."""

    def __init__(self, code: str, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Seconds the client should wait before trying again (HTTP `Retry-After`).
        self.retry_after_s = retry_after_s
