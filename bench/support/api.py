"""The REST API as the pipeline benchmarks use it: timed uploads, and calls' progress."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

IN_PROGRESS = ("PENDING", "TRANSCRIBING", "ANALYZING")
PAGE_SIZE = 200  # the largest page GET /api/v1/calls gives


@dataclass(frozen=True)
class UploadOutcome:
    """One upload: when it was sent (epoch s), how long until the answer, and the answer."""

    path: Path
    sent_at: float
    seconds: float
    status_code: int | None  # None: no answer (connection refused or reset, timeout)
    call_id: str | None
    error: str

    @property
    def accepted(self) -> bool:
        """Whether the API stored the call (201)."""
        return self.status_code == 201


def api_client(base_url: str, api_key: str, connections: int) -> httpx.AsyncClient:
    """A client of the REST API with the campaign's key and room for `connections` at once."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"X-API-Key": api_key},
        timeout=httpx.Timeout(600, connect=60),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def upload(client: httpx.AsyncClient, path: Path) -> UploadOutcome:
    """POSTs one recording to /api/v1/calls/upload and times it until the answer arrives."""
    sent_at = time.time()
    started = time.perf_counter()
    try:
        with path.open("rb") as audio:
            response = await client.post(
                "/api/v1/calls/upload", files={"file": (path.name, audio, "audio/wav")}
            )
    except httpx.HTTPError as error:
        seconds = time.perf_counter() - started
        return UploadOutcome(path, sent_at, seconds, None, None, f"{type(error).__name__}")
    seconds = time.perf_counter() - started
    try:
        body: dict[str, Any] = response.json()
    except ValueError:  # an error page that is not the API's JSON error body
        code = f"non-JSON body {response.text[:40]!r}"
        return UploadOutcome(path, sent_at, seconds, response.status_code, None, code)
    if response.status_code == 201:
        return UploadOutcome(path, sent_at, seconds, 201, str(body["id"]), "")
    detail = body.get("error")
    code = str(detail.get("code", "")) if isinstance(detail, dict) else ""
    return UploadOutcome(path, sent_at, seconds, response.status_code, None, code)


async def upload_all(
    client: httpx.AsyncClient, paths: Sequence[Path], concurrency: int
) -> list[UploadOutcome]:
    """Uploads every file, at most `concurrency` at a time, as fast as the API answers."""
    gate = asyncio.Semaphore(concurrency)

    async def one(path: Path) -> UploadOutcome:
        async with gate:
            return await upload(client, path)

    return list(await asyncio.gather(*(one(path) for path in paths)))


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 is p95); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def refusals(outcomes: Sequence[UploadOutcome]) -> str:
    """The failed uploads counted by answer, e.g. "3 x 503 unavailable"; "none" when none."""
    counts = Counter(
        f"{outcome.status_code or 'no answer'} {outcome.error}".strip()
        for outcome in outcomes
        if not outcome.accepted
    )
    return ", ".join(f"{n} x {what}" for what, n in counts.most_common()) or "none"


async def count_in_progress(client: httpx.AsyncClient) -> int:
    """How many of the organisation's calls are PENDING, TRANSCRIBING or ANALYZING."""
    total, cursor = 0, ""
    while True:
        filters = [("status", status) for status in IN_PROGRESS]
        page = await _page(client, filters, cursor, PAGE_SIZE)
        total += len(page["calls"])
        cursor = page["next_cursor"] or ""
        if not cursor:
            return total


async def count_with_status(client: httpx.AsyncClient, status: str) -> int:
    """How many calls have a status (counted up to one page of 200)."""
    page = await _page(client, [("status", status)], "", PAGE_SIZE)
    return len(page["calls"])


async def fetch_calls(client: httpx.AsyncClient, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """The calls with these ids as the API shows them, read page by page, newest first."""
    wanted = set(ids)
    found: dict[str, dict[str, Any]] = {}
    cursor = ""
    while wanted - found.keys():
        page = await _page(client, [], cursor, PAGE_SIZE)
        found.update({call["id"]: call for call in page["calls"] if call["id"] in wanted})
        cursor = page["next_cursor"] or ""
        if not cursor:
            break
    return found


async def _page(
    client: httpx.AsyncClient, filters: list[tuple[str, str]], cursor: str, limit: int
) -> dict[str, Any]:
    params: list[tuple[str, str | int | float | bool | None]] = [*filters, ("limit", limit)]
    if cursor:
        params.append(("cursor", cursor))
    response = await client.get("/api/v1/calls", params=params)
    response.raise_for_status()
    page: dict[str, Any] = response.json()
    return page


# Listing the calls in progress is a query over the whole `calls` collection, which on
# FerretDB's SQLite backend took 2-5 s under load: polled often, the bench would load the
# database it measures. The figures come from the calls' own timestamps, so a coarse poll
# only delays the end of a phase.
DRAIN_POLL_S = 10.0


async def wait_until_drained(
    client: httpx.AsyncClient, *, timeout_s: float, report_every_s: float = 60
) -> float:
    """Polls every 10 s until no call is in progress; the seconds waited (raises on timeout)."""
    started = time.monotonic()
    reported = started
    while (remaining := await count_in_progress(client)) > 0:
        now = time.monotonic()
        if now - started > timeout_s:
            raise TimeoutError(f"{remaining} calls still in progress after {timeout_s:.0f} s")
        if now - reported >= report_every_s:
            print(f"    ... {remaining} calls in progress after {now - started:.0f} s", flush=True)
            reported = now
        await asyncio.sleep(DRAIN_POLL_S)
    return time.monotonic() - started


def epoch_seconds(timestamp: str) -> float:
    """An API timestamp (ISO 8601) as seconds since the epoch."""
    parsed = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()
