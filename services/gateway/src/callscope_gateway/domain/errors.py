"""Errors the gateway reports to its clients, each with a stable code and words for people."""

from __future__ import annotations


class GatewayError(Exception):
    """A request the gateway refuses; entrypoints map the code to a transport status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
