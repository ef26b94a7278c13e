"""Hosted providers' HTTP calls: bounded retries with backoff, and failures people can act on."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from callscope_common.backoff import Backoff, retry_after_seconds
from callscope_common.metrics import PROVIDER_REQUESTS, PROVIDER_RETRIES, outcome_of_status

from callscope_transcription.domain.errors import ProviderError

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
"""How a retry waits; tests pass a recorder so nothing really waits."""

RequestFactory = Callable[[], httpx.Request]
"""Builds the request afresh for every attempt (a streamed body can be sent only once)."""

# 408 and 429 say "not now"; every 5xx (including the 503 and 529 "overloaded" answers
# providers send under load) may pass. Everything else is an answer that a retry repeats.
_RETRY_STATUSES = frozenset({408, 429})
_AUTH_STATUSES = frozenset({401, 403})
_AUDIO_STATUSES = frozenset({415, 422})
_DETAIL_LIMIT = 300
_TRY_LATER = "try again later or switch the campaign to another provider"
_FILE_CHUNK = 1 << 20


async def stream_file(path: Path, chunk_size: int = _FILE_CHUNK) -> AsyncIterator[bytes]:
    """The file chunk by chunk, read in a worker thread: a 500 MB call never sits in memory."""
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk
    finally:
        handle.close()


def provider_message(response: httpx.Response) -> str:
    """The provider's own error text from a response body (JSON error fields, or the raw text)."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())
    if isinstance(body, dict):
        for key in ("err_msg", "error", "message", "detail", "details"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return " ".join(response.text.split())


class ProviderHttp:
    """Sends one provider's requests: retries what may pass, explains what will not.

    Retries 408, 429, 5xx, timeouts and connection failures up to max_attempts, waiting
    Retry-After when the provider gives one (capped) and jittered exponential backoff
    otherwise. Every failure becomes a ProviderError whose reason names the provider and
    what to do; the provider's message goes to detail. The API key never appears in
    either, nor in the logs.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        provider: str,
        secret: str,
        max_attempts: int,
        sleep: Sleep = asyncio.sleep,
        backoff: Backoff | None = None,
        fraction: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client = client
        self._provider = provider
        self._secret = secret
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._backoff = backoff or Backoff()
        self._fraction = fraction
        # The provider label of the metrics: "assemblyai", "deepgram".
        self._label = provider.lower()

    @property
    def provider(self) -> str:
        """The provider's display name used in reasons, e.g. "AssemblyAI"."""
        return self._provider

    async def send(self, build: RequestFactory, *, carries_audio: bool = False) -> httpx.Response:
        """Sends the request until it succeeds (2xx) or fails for good; returns the response.

        carries_audio says the request body is the call's audio, so a 400 means the
        provider could not read that audio rather than a mistake in our request.
        """
        attempt = 0
        while True:
            attempt += 1
            request = build()
            try:
                response = await self._client.send(request)
            except httpx.TransportError as error:
                outcome = _transport_outcome(error)
                PROVIDER_REQUESTS.labels(self._label, outcome).inc()
                if attempt >= self._max_attempts:
                    raise self._unreachable(request, error, attempt) from error
                await self._wait(request, attempt, None, type(error).__name__, outcome)
                continue
            outcome = outcome_of_status(response.status_code)
            PROVIDER_REQUESTS.labels(self._label, outcome).inc()
            if response.is_success:
                return response
            if response.status_code in _RETRY_STATUSES or response.status_code >= 500:
                if attempt >= self._max_attempts:
                    raise self._unavailable(request, response, attempt)
                await self._wait(
                    request, attempt, response, f"HTTP {response.status_code}", outcome
                )
                continue
            raise self._refusal(request, response, carries_audio=carries_audio)

    def json(self, response: httpx.Response) -> dict[str, Any]:
        """The response's JSON object; ProviderError if the provider sent something else."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self.answer_unreadable(
                self.redact(f"{_describe(response.request)}: not a JSON object: {response.text}")
            )
        return body

    def answer_unreadable(self, detail: str) -> ProviderError:
        """The provider answered, but not in the shape its API documents."""
        return ProviderError(
            f"{self._provider} sent an answer that could not be read: {_TRY_LATER}",
            self.redact(detail),
        )

    def audio_unreadable(self, detail: str) -> ProviderError:
        """The provider could not read the call's audio."""
        return ProviderError(
            f"{self._provider} could not read the audio: check that the file plays, "
            "or switch the campaign to another provider",
            self.redact(detail),
        )

    def transcription_failed(self, detail: str) -> ProviderError:
        """The provider took the audio but its transcription failed."""
        return ProviderError(
            f"{self._provider} could not transcribe the call: {_TRY_LATER}", self.redact(detail)
        )

    def too_slow(self, timeout_s: float, detail: str) -> ProviderError:
        """The provider did not finish within the time this deployment allows."""
        return ProviderError(
            f"{self._provider} did not finish within {timeout_s:g} s: {_TRY_LATER}",
            self.redact(detail),
        )

    def redact(self, text: str) -> str:
        """The text without the API key, squeezed to one line and trimmed for a log line."""
        if self._secret:
            text = text.replace(self._secret, "[redacted]")
        text = " ".join(text.split())
        return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"

    async def _wait(
        self,
        request: httpx.Request,
        attempt: int,
        response: httpx.Response | None,
        why: str,
        outcome: str,
    ) -> None:
        PROVIDER_RETRIES.labels(self._label, outcome).inc()
        asked = retry_after_seconds(response.headers.get("retry-after")) if response else None
        delay = self._backoff.wait(attempt, self._fraction(), asked)
        logger.warning(
            "provider request failed; retrying",
            extra={
                "provider": self._provider,
                "request": _describe(request),
                "failure": why,
                "attempt": attempt,
                "max_attempts": self._max_attempts,
                "retry_in_s": round(delay, 3),
            },
        )
        await self._sleep(delay)

    def _unavailable(
        self, request: httpx.Request, response: httpx.Response, attempts: int
    ) -> ProviderError:
        status = response.status_code
        return ProviderError(
            f"{self._provider} is unavailable (HTTP {status} after {attempts} attempts): "
            f"{_TRY_LATER}",
            self._detail(request, response),
        )

    def _unreachable(
        self, request: httpx.Request, error: httpx.TransportError, attempts: int
    ) -> ProviderError:
        if isinstance(error, httpx.TimeoutException):
            what = f"no answer in time after {attempts} attempts"
        else:
            what = f"connection failed after {attempts} attempts"
        detail = self.redact(f"{_describe(request)}: {type(error).__name__} {error}")
        return ProviderError(f"{self._provider} is unavailable ({what}): {_TRY_LATER}", detail)

    def _refusal(
        self, request: httpx.Request, response: httpx.Response, *, carries_audio: bool
    ) -> ProviderError:
        status = response.status_code
        detail = self._detail(request, response)
        if status in _AUTH_STATUSES:
            reason = (
                f"{self._provider} rejected the API key: check the key configured for this "
                "deployment or switch provider"
            )
        elif status in _AUDIO_STATUSES or (status == 400 and carries_audio):
            return self.audio_unreadable(detail)
        else:
            reason = (
                f"{self._provider} refused the request (HTTP {status}): check the provider "
                "account, or switch the campaign to another provider"
            )
        return ProviderError(reason, detail)

    def _detail(self, request: httpx.Request, response: httpx.Response) -> str:
        message = provider_message(response)
        return self.redact(f"{_describe(request)} answered HTTP {response.status_code}: {message}")


def _transport_outcome(error: httpx.TransportError) -> str:
    """The metrics' outcome of a request that got no answer."""
    return "timeout" if isinstance(error, httpx.TimeoutException) else "connection_error"


def _describe(request: httpx.Request) -> str:
    """Method and path only: query strings and headers may carry what logs must not."""
    return f"{request.method} {request.url.path}"
