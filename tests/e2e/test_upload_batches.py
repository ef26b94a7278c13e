"""Multi-file uploads (source UI): up to 20 files with one set of metadata, sent in parallel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.audio import render_noise
from tests.support.jobs import (
    get_job,
    items_by_name,
    other_campaign,
    put_file,
    unique,
)
from tests.support.polling import wait_for
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

BATCH_METADATA = {
    "agent_name": "John Smith",
    "call_type": "outbound",
    "call_date": "2026-01-15",
    "disposition": "Sale Completed",
}


async def create_batch(
    api: httpx.AsyncClient,
    key: str,
    campaign_id: str,
    files: list[tuple[str, int]],
    metadata: dict[str, str] | None = None,
) -> httpx.Response:
    return await api.post(
        f"/api/v1/campaigns/{campaign_id}/upload-batches",
        headers={"X-API-Key": key},
        json={
            "files": [{"file_name": name, "size_bytes": size} for name, size in files],
            "metadata": metadata or {},
        },
    )


def noise_files(folder: Path, count: int, seconds: float = 11.0) -> list[bytes]:
    """Distinct recordings (a seed each), so none is a duplicate of another."""
    return [
        render_noise(folder / f"noise{n}.wav", seconds, seed=1000 + n).read_bytes()
        for n in range(count)
    ]


async def test_twenty_files_upload_in_parallel_with_the_batch_metadata(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    # Auto-processing off: the calls are stored and held, so 20 transcriptions don't slow the run.
    campaign_id, key = await other_campaign(stores, services, auto_processing=False)
    bodies = noise_files(tmp_path, 20)
    names = [unique(f"batch{n:02d}.wav") for n in range(20)]
    created = await create_batch(
        api,
        key,
        campaign_id,
        [(name, len(body)) for name, body in zip(names, bodies, strict=True)],
        BATCH_METADATA,
    )
    assert created.status_code == 201, created.text
    job = created.json()
    assert (job["source"], job["status"], job["counts"]["total"]) == ("UI", "QUEUED", 20)
    assert job["metadata"]["call_type"] == "OUTBOUND"
    items = items_by_name(job)
    assert all(item["size_bytes"] > 0 and item["percent"] == 0.0 for item in items.values())

    answers = await asyncio.gather(
        *(
            put_file(api, key, job["id"], items[name]["id"], body)
            for name, body in zip(names, bodies, strict=True)
        )
    )
    assert [answer.status_code for answer in answers] == [201] * 20, [
        answer.text for answer in answers if answer.status_code != 201
    ]
    calls: list[dict[str, Any]] = (
        await stores.mongo[stores.database]["calls"].find({"job_id": job["id"]}).to_list()
    )
    assert sorted(call["file_name"] for call in calls) == sorted(names)
    expected = {**BATCH_METADATA, "call_type": "OUTBOUND"}
    for call in calls:
        assert call["source"] == "UI"
        assert call["campaign_id"] == campaign_id
        assert {k: v for k, v in call["metadata"].items() if v} == expected
        assert call["job_item_id"] == items[call["file_name"]]["id"]
        assert call["status"] == "PENDING"
    keys = await stores.object_keys()
    assert all(sum(call["_id"] in key for key in keys) == 1 for call in calls)
    assert await stores.count("bulk_job_items", {"job_id": job["id"], "state": "UPLOADED"}) == 20
    assert await stores.count("job_item_claims", {"job_id": job["id"]}) == 20
    view = await get_job(api, key, job["id"])
    assert view["status"] == "PROCESSING"  # held calls are still pending
    assert {item["call_id"] for item in view["items"]} == {call["_id"] for call in calls}
    assert all(item["percent"] == 100.0 for item in view["items"])


async def test_twenty_one_files_are_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    before = (await stores.count("bulk_jobs"), await stores.count("bulk_job_items"))
    response = await create_batch(
        api,
        services.api_key,
        services.credentials["campaign_id"],
        [(f"f{n}.mp3", 1000) for n in range(21)],
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "too_many_files"
    assert "at most 20 files" in error["message"]
    assert (await stores.count("bulk_jobs"), await stores.count("bulk_job_items")) == before


async def test_bad_batch_metadata_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    before = await stores.count("bulk_jobs")
    campaign_id, key = services.credentials["campaign_id"], services.api_key
    for metadata, words in (
        ({"call_date": "15/01/2026"}, "YYYY-MM-DD"),
        ({"client_reference": "CRM-1"}, "client reference identifies one call"),
    ):
        response = await create_batch(api, key, campaign_id, [("a.mp3", 1), ("b.mp3", 1)], metadata)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_metadata"
        assert words in response.json()["error"]["message"]
    unknown = await create_batch(api, key, "no-such-campaign", [("a.mp3", 1)])
    assert unknown.status_code == 404
    assert await stores.count("bulk_jobs") == before


async def slowly(body: bytes, piece: int, pause_s: float) -> AsyncIterator[bytes]:
    for start in range(0, len(body), piece):
        yield body[start : start + piece]
        await asyncio.sleep(pause_s)  # a slow client, not a wait for a condition


async def test_progress_is_visible_while_a_file_arrives(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    campaign_id, key = await other_campaign(stores, services, auto_processing=False)
    body = render_noise(tmp_path / "long.wav", 120.0, seed=77).read_bytes()  # about 3.8 MB
    created = await create_batch(api, key, campaign_id, [(unique("long.wav"), len(body))])
    assert created.status_code == 201, created.text
    job = created.json()
    item_id = job["items"][0]["id"]
    # No Content-Length (chunked): the size the batch announced is what progress compares to.
    upload = asyncio.create_task(
        put_file(api, key, job["id"], item_id, slowly(body, 128 * 1024, 0.1))
    )

    async def midway() -> dict[str, Any] | None:
        item: dict[str, Any] = (await get_job(api, key, job["id"]))["items"][0]
        partial = item["state"] == "UPLOADING" and 0 < item["bytes_received"] < len(body)
        return item if partial else None

    seen = await wait_for(midway, timeout_s=30, interval_s=0.1, describe="a partial upload")
    assert 0 < seen["percent"] < 100
    assert seen["bytes_per_second"] > 0
    assert seen["size_bytes"] == len(body)
    answer = await upload
    assert answer.status_code == 201, answer.text
    done = (await get_job(api, key, job["id"]))["items"][0]
    assert (done["state"], done["bytes_received"], done["percent"]) == (
        "UPLOADED",
        len(body),
        100.0,
    )


async def test_a_client_that_goes_away_mid_file_leaves_the_item_waiting(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    campaign_id, key = await other_campaign(stores, services, auto_processing=False)
    body = render_noise(tmp_path / "cut.wav", 120.0, seed=78).read_bytes()
    created = await create_batch(api, key, campaign_id, [(unique("cut.wav"), len(body))])
    assert created.status_code == 201, created.text
    job = created.json()
    item_id = job["items"][0]["id"]
    objects_before = sorted(await stores.object_keys())

    reader, writer = await asyncio.open_connection("127.0.0.1", services.http_port)
    writer.write(
        (
            f"PUT /api/v1/jobs/{job['id']}/items/{item_id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-API-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body[: len(body) // 2]
    )
    await writer.drain()

    async def state() -> str:
        return str((await get_job(api, key, job["id"]))["items"][0]["state"])

    async def uploading() -> bool:
        return await state() == "UPLOADING"

    await wait_for(uploading, timeout_s=30, describe="ingest to start receiving the file")
    writer.close()  # the client goes away halfway through the file
    await writer.wait_closed()
    del reader

    observed: list[object] = []

    async def waiting() -> bool:
        observed[:] = [
            await state(),
            sorted(p.name for p in (services.log_dir / "spool").iterdir()),
        ]
        return observed == ["WAITING", []]

    try:
        await wait_for(waiting, timeout_s=30, describe="the item to wait again")
    except AssertionError as error:
        raise AssertionError(f"{error}; item state and spool files: {observed}") from None
    assert await stores.count("calls", {"job_item_id": item_id}) == 0
    assert await stores.count("job_item_claims", {"_id": item_id}) == 0
    assert sorted(await stores.object_keys()) == objects_before
    # The file can be sent again, completely this time.
    again = await put_file(api, key, job["id"], item_id, body)
    assert again.status_code == 201, again.text
    assert again.json()["item"]["state"] == "UPLOADED"


async def test_two_simultaneous_uploads_of_one_item_store_one_call(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    campaign_id, key = await other_campaign(stores, services, auto_processing=False)
    body = noise_files(tmp_path, 1)[0]
    created = await create_batch(api, key, campaign_id, [(unique("twice.wav"), len(body))])
    assert created.status_code == 201, created.text
    job = created.json()
    item_id = job["items"][0]["id"]
    answers = await asyncio.gather(
        *(put_file(api, key, job["id"], item_id, body) for _ in range(4))
    )
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201, 409, 409, 409], [answer.text for answer in answers]
    refused = [answer.json()["error"]["code"] for answer in answers if answer.status_code == 409]
    # Refused while the winner's bytes were still arriving (retry) or once they had all come.
    assert set(refused) <= {"item_in_flight", "item_already_uploaded"}, refused
    assert await stores.count("calls", {"job_item_id": item_id}) == 1
