"""Cancelling one file of a job through the REST API: the file is discarded, the job goes on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.audio import convert, render_mono
from tests.support.call_scripts import SHORT_GREETING
from tests.support.jobs import (
    get_job,
    other_campaign,
    other_organisation_key,
    put_file,
    unique,
    wait_for_job,
)
from tests.support.polling import wait_for
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector


def speech(folder: Path) -> bytes:
    """A 13-15 s spoken call as MP3."""
    return convert(render_mono(SHORT_GREETING, folder / "speech.wav").path, "mp3").read_bytes()


async def create_batch(api: httpx.AsyncClient, key: str, campaign_id: str, files: int) -> Any:
    response = await api.post(
        f"/api/v1/campaigns/{campaign_id}/upload-batches",
        headers={"X-API-Key": key},
        json={"files": [{"file_name": unique(f"c{n}.mp3"), "size_bytes": 0} for n in range(files)]},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def cancel_item(
    api: httpx.AsyncClient, key: str, job_id: str, item_id: str
) -> httpx.Response:
    return await api.post(
        f"/api/v1/jobs/{job_id}/items/{item_id}/cancel", headers={"X-API-Key": key}
    )


async def campaign_objects(stores: StoreInspector, campaign_id: str) -> list[str]:
    return sorted(key for key in await stores.object_keys() if f"/{campaign_id}/" in key)


async def test_a_cancelled_file_is_discarded_and_the_rest_of_the_batch_completes(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    campaign_id, key = await other_campaign(stores, services)
    job = await create_batch(api, key, campaign_id, 2)
    kept, dropped = job["items"]
    uploaded = await put_file(api, key, job["id"], kept["id"], speech(tmp_path))
    assert uploaded.status_code == 201, uploaded.text
    call_id = uploaded.json()["call_id"]

    elsewhere = await cancel_item(
        api, await other_organisation_key(stores, services), job["id"], dropped["id"]
    )
    assert elsewhere.status_code == 404, elsewhere.text
    assert (await get_job(api, key, job["id"]))["items"][1]["state"] == "WAITING"

    cancelled = await cancel_item(api, key, job["id"], dropped["id"])
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert [item["state"] for item in view["items"]] == ["UPLOADED", "CANCELLED"]
    assert view["status"] != "CANCELLED" and view["cancelled_at"] is None
    again = await cancel_item(api, key, job["id"], dropped["id"])
    assert again.status_code == 200, again.text
    assert again.json()["counts"]["cancelled"] == 1

    late = await put_file(api, key, job["id"], dropped["id"], speech(tmp_path))
    assert late.status_code == 409, late.text
    assert late.json()["error"]["code"] == "item_cancelled"
    too_late = await cancel_item(api, key, job["id"], kept["id"])
    assert too_late.status_code == 409, too_late.text
    assert too_late.json()["error"]["code"] == "item_already_uploaded"
    assert call_id in too_late.json()["error"]["message"]

    done = await wait_for_job(api, key, job["id"])
    assert done["status"] == "COMPLETED"
    counts = done["counts"]
    assert (counts["total"], counts["completed"], counts["cancelled"]) == (2, 1, 1)
    assert await stores.count("calls", {"job_item_id": dropped["id"]}) == 0
    assert await stores.count("calls", {"job_id": job["id"]}) == 1
    assert all(
        f"/{call_id}/" in object_key for object_key in await campaign_objects(stores, campaign_id)
    )


async def test_a_file_still_arriving_is_in_flight_until_its_upload_breaks_off(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    campaign_id, key = await other_campaign(stores, services, auto_processing=False)
    job = await create_batch(api, key, campaign_id, 2)
    item = job["items"][0]
    stalled = asyncio.Event()

    async def half_a_file() -> AsyncIterator[bytes]:
        yield b"\xff\xfb" + b"\0" * (256 * 1024)
        await stalled.wait()  # never set: the client gives up mid-file

    sending = asyncio.create_task(put_file(api, key, job["id"], item["id"], half_a_file()))
    try:

        async def arriving() -> dict[str, Any] | None:
            found: dict[str, Any] = (await get_job(api, key, job["id"]))["items"][0]
            return found if found["state"] == "UPLOADING" else None

        await wait_for(arriving, timeout_s=30, describe="the upload to be under way")
        in_flight = await cancel_item(api, key, job["id"], item["id"])
        assert in_flight.status_code == 409, in_flight.text
        assert in_flight.json()["error"]["code"] == "item_in_flight"
        assert "try again" in in_flight.json()["error"]["message"]
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending

    async def cancelled() -> dict[str, Any] | None:
        response = await cancel_item(api, key, job["id"], item["id"])
        if response.status_code == 409 and response.json()["error"]["code"] == "item_in_flight":
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    view = await wait_for(cancelled, timeout_s=30, describe="the aborted upload to let go")
    assert [each["state"] for each in view["items"]] == ["CANCELLED", "WAITING"]
    assert view["items"][0]["bytes_received"] == 0
    assert view["status"] == "QUEUED"
    assert await stores.count("calls", {"campaign_id": campaign_id}) == 0
    assert await campaign_objects(stores, campaign_id) == []
