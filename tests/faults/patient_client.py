"""A client that sends calls the way a well-behaved integration does while the system is failing.

A connection error, a timeout, a 429 or a 5xx is retried with exponential backoff until a
deadline; any other answer is final. A retry may meet the first attempt's call (the
answer was lost, not the upload): the API then answers 409 `duplicate` naming the original,
or, for a job's file, `item_already_uploaded`, and the client takes that call as its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from tests.faults.call_corpus import CallFile

Source = Literal["API", "BULK", "SFTP"]
GIVE_UP_AFTER_S = 240.0
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0


@dataclass
class Delivery:
    """What became of one file: the call it got (if any), and every answer on the way."""

    call_file: CallFile
    source: Source
    call_id: str = ""
    answers: list[str] = field(default_factory=list)
    # DUPLICATE calls that retries of this file made (each names call_id as its original).
    duplicate_ids: list[str] = field(default_factory=list)
    refusal: str = ""  # a final answer other than success, or why the client gave up

    @property
    def acknowledged(self) -> bool:
        """The system said which call holds the file."""
        return bool(self.call_id)


class PatientClient:
    """Uploads through the public API with one campaign's key, retrying what may pass."""

    def __init__(self, api: httpx.AsyncClient, key: str) -> None:
        self._api = api
        self._headers = {"X-API-Key": key}

    async def upload(self, call_file: CallFile, file_name: str) -> Delivery:
        """POST /api/v1/calls/upload until the file has a call or the answer is final."""
        delivery = Delivery(call_file, "API")
        body = call_file.path.read_bytes()

        async def attempt() -> httpx.Response:
            return await self._api.post(
                "/api/v1/calls/upload",
                headers=self._headers,
                files={"file": (file_name, body, "audio/wav")},
            )

        async def settle(response: httpx.Response) -> bool:
            answer = _json(response)
            if response.status_code == 201:
                delivery.call_id = answer["id"]
                return True
            return _settled_as_duplicate(response, answer, delivery)

        await self._persist(delivery, attempt, settle)
        return delivery

    async def put_job_file(self, call_file: CallFile, job_id: str, item_id: str) -> Delivery:
        """PUT one file of a bulk job until the item has a call or the answer is final."""
        delivery = Delivery(call_file, "BULK")
        body = call_file.path.read_bytes()

        async def attempt() -> httpx.Response:
            return await self._api.put(
                f"/api/v1/jobs/{job_id}/items/{item_id}/file",
                headers={**self._headers, "Content-Type": "application/octet-stream"},
                content=body,
            )

        async def settle(response: httpx.Response) -> bool:
            answer = _json(response)
            if response.status_code == 201:
                delivery.call_id = answer["call_id"]
                return True
            if _error_code(answer) == "item_already_uploaded":
                # An earlier attempt went in and only its answer was lost.
                delivery.call_id = await self._item_call(job_id, item_id)
                return True
            return _settled_as_duplicate(response, answer, delivery)

        await self._persist(delivery, attempt, settle)
        return delivery

    async def _persist(
        self,
        delivery: Delivery,
        attempt: Callable[[], Awaitable[httpx.Response]],
        settle: Callable[[httpx.Response], Awaitable[bool]],
    ) -> None:
        """Runs attempts until settle() accepts an answer, one is final, or time is up."""
        deadline = time.monotonic() + GIVE_UP_AFTER_S
        tries = 0
        while True:
            tries += 1
            try:
                response = await attempt()
            except httpx.TransportError as error:
                delivery.answers.append(type(error).__name__)
            else:
                delivery.answers.append(str(response.status_code))
                if await settle(response):
                    return
                if not _worth_retrying(response):
                    delivery.refusal = f"HTTP {response.status_code}: {response.text[:300]}"
                    return
            if time.monotonic() > deadline:
                delivery.refusal = f"gave up after {tries} attempts: {delivery.answers[-5:]}"
                return
            await asyncio.sleep(min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (tries - 1)))

    async def _item_call(self, job_id: str, item_id: str) -> str:
        response = await self._api.get(f"/api/v1/jobs/{job_id}", headers=self._headers)
        response.raise_for_status()
        item = next(i for i in response.json()["items"] if i["id"] == item_id)
        call_id: str = item["call_id"] or ""
        return call_id


def _worth_retrying(response: httpx.Response) -> bool:
    """Not now (429, 5xx) or a job item still held by an earlier attempt: try again."""
    if response.status_code == 429 or response.status_code >= 500:
        return True
    return _error_code(_json(response)) == "item_in_flight"


def _settled_as_duplicate(
    response: httpx.Response, answer: dict[str, Any], delivery: Delivery
) -> bool:
    """A 409 `duplicate` names the call that already holds this file: it is ours."""
    if response.status_code != 409 or _error_code(answer) != "duplicate":
        return False
    delivery.call_id = answer["error"]["original_call_id"]
    duplicate_id = answer.get("id") or answer.get("call_id")
    if duplicate_id:
        delivery.duplicate_ids.append(duplicate_id)
    return True


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(answer: dict[str, Any]) -> str:
    error = answer.get("error")
    return str(error.get("code", "")) if isinstance(error, dict) else ""
