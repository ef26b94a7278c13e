"""A provider behind a concurrency limit: at most N calls in its hands at once per process."""

from __future__ import annotations

import asyncio

from callscope_transcription.ports import Hearing, ProviderRequest, SpeechProvider


class LimitedProvider:
    """Wraps a provider so no more than `limit` transcriptions run in it at the same time.

    Hosted providers cap concurrent requests per account, and the local model has
    only so many cores; calls beyond the limit wait their turn here instead of
    being rejected by the provider (or thrashing the CPU).
    """

    def __init__(self, provider: SpeechProvider, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a concurrency limit must be at least 1, not {limit}")
        self._provider = provider
        self._slots = asyncio.Semaphore(limit)
        self.limit = limit

    @property
    def name(self) -> str:
        """The wrapped provider's name."""
        return self._provider.name

    async def transcribe(self, request: ProviderRequest) -> Hearing:
        """Waits for a free slot, then lets the wrapped provider transcribe."""
        async with self._slots:
            return await self._provider.transcribe(request)

    async def aclose(self) -> None:
        """Closes the wrapped provider's connections, if it holds any."""
        close = getattr(self._provider, "aclose", None)
        if close is not None:
            await close()
