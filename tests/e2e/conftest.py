"""Fixtures shared by the end-to-end tests: an HTTP client and a store inspector."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import pytest
from callscope_gateway.adapters.mongo import MongoDirectory
from playwright.async_api import Browser, async_playwright

from tests.support.audio import RenderedAudio, convert, render_mono, render_stereo
from tests.support.browser import CHROMIUM
from tests.support.infra import Infra
from tests.support.people import (
    OtherOrganisation,
    Person,
    demo_owner,
    directory_of,
    other_organisation,
)
from tests.support.polling import wait_for
from tests.support.scripts import COMPLIANT, NO_GREETING, NO_VERIFICATION
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector, inspect_stores


@pytest.fixture(scope="session")
async def api(services: RunningServices) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway's REST API that keeps no cookies.

    Login also sets a session cookie; a shared client that kept it would authenticate every
    later request of every test as whoever logged in last. Each request states its own
    credentials (headers) instead.
    """
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(
        base_url=services.gateway_url, timeout=60, cookies=no_cookies
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def stores(infra: Infra, services: RunningServices) -> AsyncIterator[StoreInspector]:
    """Looks into the database and bucket the services of this run use."""
    async with inspect_stores(infra, services.database, services.bucket) as inspector:
        yield inspector


@pytest.fixture(scope="module")
async def directory(stores: StoreInspector, services: RunningServices) -> MongoDirectory:
    """The gateway's directory in this run's database, for seeding people and campaigns."""
    return directory_of(stores, services)


@pytest.fixture(scope="module")
async def owner(api: httpx.AsyncClient, services: RunningServices) -> Person:
    """The demo organisation's owner, logged in."""
    return await demo_owner(api, services)


@pytest.fixture(scope="module")
async def other(api: httpx.AsyncClient, directory: MongoDirectory) -> OtherOrganisation:
    """A second organisation with a campaign, its key and a logged-in owner."""
    return await other_organisation(api, directory)


PROCESSING_TIMEOUT_S = 300


def curl_upload(services: RunningServices, path: Path, fields: dict[str, str]) -> dict[str, Any]:
    """Uploads exactly as the product guide's curl example does: file first, then metadata."""
    command = [
        "curl",
        "-sS",
        "-X",
        "POST",
        f"{services.gateway_url}/api/v1/calls/upload",
        "-H",
        f"X-API-Key: {services.api_key}",
        "-F",
        f"file=@{path}",
        *[arg for name, value in fields.items() for arg in ("-F", f"{name}={value}")],
        "-w",
        "\n%{http_code}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    body, status = output.rsplit("\n", 1)
    assert status == "201", body
    result: dict[str, Any] = json.loads(body)
    return result


async def wait_until_done(api: httpx.AsyncClient, key: str, call_id: str) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        call: dict[str, Any] = (
            await api.get(f"/api/v1/calls/{call_id}", headers={"X-API-Key": key})
        ).json()
        return call if call["status"] in {"COMPLETED", "FAILED"} else None

    return await wait_for(
        finished, timeout_s=PROCESSING_TIMEOUT_S, interval_s=1.0, describe=f"call {call_id}"
    )


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RenderedAudio]:
    folder = tmp_path_factory.mktemp("calls")
    return {
        "compliant": render_stereo(COMPLIANT.dialogue, folder / "compliant.wav"),
        "no_greeting": render_stereo(NO_GREETING.dialogue, folder / "no_greeting.wav"),
        "no_verification": render_mono(NO_VERIFICATION.dialogue, folder / "no_verification.wav"),
    }


@pytest.fixture(scope="session")
async def uploaded(
    api: httpx.AsyncClient, services: RunningServices, rendered: dict[str, RenderedAudio]
) -> dict[str, dict[str, Any]]:
    """Uploads the three calls once, through three paths, and waits for all of them."""
    compliant_mp3 = convert(rendered["compliant"].path, "mp3")
    compliant = curl_upload(
        services,
        compliant_mp3,
        {"agent_code": "JS001", "call_type": "OUTBOUND", "call_date": "2026-01-15"},
    )
    uploads = {"compliant": compliant}
    for name, metadata in (
        ("no_greeting", {"agent_name": "Jane Doe", "client_reference": "CRM-98765"}),
        ("no_verification", {"disposition": "Sale Completed"}),
    ):
        path = rendered[name].path
        with path.open("rb") as handle:
            response = await api.post(
                "/api/v1/calls/upload",
                headers={"X-API-Key": services.api_key},
                data=metadata,
                files={"file": (f"{name}.wav", handle, "audio/wav")},
            )
        assert response.status_code == 201, response.text
        uploads[name] = response.json()
    for upload in uploads.values():
        assert upload["status"] == "PENDING"
    finished = await asyncio.gather(
        *(wait_until_done(api, services.api_key, u["id"]) for u in uploads.values())
    )
    return dict(zip(uploads, finished, strict=True))


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (started once per run)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()
