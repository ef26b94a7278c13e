"""Bulk CSV uploads through the REST API: preview, job, one PUT per file, counts, cancel."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.audio import convert, render_mono
from tests.support.call_scripts import SHORT_GREETING
from tests.support.jobs import (
    create_bulk_job,
    get_job,
    items_by_name,
    other_campaign,
    other_organisation_key,
    put_file,
    unique,
    wait_for_job,
)
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

FAKE_AUDIO = b"this is a text file pretending to be an mp3\n" * 50
CSV_HEADER = "file_name,agent_name,call_type,call_date,disposition\n"


def speech(folder: Path, n: int) -> bytes:
    """A 13-15 s spoken call as MP3; n changes the pauses, so every clip's audio differs."""
    wav = render_mono(SHORT_GREETING, folder / f"speech{n}.wav", pause_s=0.5 + 0.05 * n).path
    return convert(wav, "mp3").read_bytes()


def csv_rows(names: list[str]) -> str:
    return CSV_HEADER + "".join(
        f"{name},Agent {n},OUTBOUND,2026-01-{10 + n:02d},Sale {n}\n" for n, name in enumerate(names)
    )


def demo(services: RunningServices) -> tuple[str, str]:
    return services.credentials["campaign_id"], services.api_key


async def calls_of_job(stores: StoreInspector, job_id: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = (
        await stores.mongo[stores.database]["calls"].find({"job_id": job_id}).to_list()
    )
    return calls


async def item_document(stores: StoreInspector, item_id: str) -> dict[str, Any]:
    document = await stores.mongo[stores.database]["bulk_job_items"].find_one({"_id": item_id})
    assert document is not None
    return document


def spool_is_empty(services: RunningServices) -> bool:
    return not any((services.log_dir / "spool").iterdir())


async def test_a_fake_file_is_rejected_and_the_others_complete_so_the_job_failed(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    campaign_id, key = demo(services)
    names = [unique(f"call{n}.mp3") for n in range(3)]
    fake_name = unique("fake.mp3")
    response = await create_bulk_job(
        api, key, campaign_id, csv_rows([*names, fake_name]), [*names, fake_name]
    )
    assert response.status_code == 201, response.text
    job, preview = response.json()["job"], response.json()["preview"]
    assert (job["source"], job["status"], preview["ready_rows"]) == ("BULK", "QUEUED", 4)
    assert job["counts"]["total"] == 4
    assert await stores.count("bulk_jobs", {"_id": job["id"], "source": "BULK"}) == 1
    assert await stores.count("bulk_job_items", {"job_id": job["id"], "state": "WAITING"}) == 4
    items = items_by_name(job)
    assert [items[name]["line"] for name in [*names, fake_name]] == [2, 3, 4, 5]

    objects_before = set(await stores.object_keys())
    bodies = [speech(tmp_path, n) for n in range(3)]
    answers = await asyncio.gather(
        *(
            put_file(api, key, job["id"], items[name]["id"], body)
            for name, body in zip(names, bodies, strict=True)
        ),
        put_file(api, key, job["id"], items[fake_name]["id"], FAKE_AUDIO),
    )
    for answer, body in zip(answers[:3], bodies, strict=True):
        assert answer.status_code == 201, answer.text
        result = answer.json()
        assert result["status"] == "PENDING"
        assert result["item"]["state"] == "UPLOADED"
        assert result["item"]["call_id"] == result["call_id"]
        assert result["item"]["bytes_received"] == len(body)
        assert result["item"]["percent"] == 100.0
    assert answers[3].status_code == 415, answers[3].text
    assert answers[3].json()["error"]["code"] == "unsupported_format"

    # The refused file left an item that says why, a released claim, and nothing else.
    fake_id = items[fake_name]["id"]
    refused = await item_document(stores, fake_id)
    assert (refused["state"], refused["error_code"]) == ("REJECTED", "unsupported_format")
    assert await stores.count("job_item_claims", {"_id": fake_id}) == 0
    calls = await calls_of_job(stores, job["id"])
    assert sorted(call["file_name"] for call in calls) == sorted(names)
    assert all(call["job_item_id"] != fake_id for call in calls)
    for call in calls:
        n = names.index(call["file_name"])
        assert call["source"] == "BULK"
        assert call["job_item_id"] == items[call["file_name"]]["id"]
        assert call["metadata"]["agent_name"] == f"Agent {n}"
        assert call["metadata"]["call_date"] == f"2026-01-{10 + n:02d}"
        assert call["metadata"]["disposition"] == f"Sale {n}"
    new_objects = set(await stores.object_keys()) - objects_before
    assert len(new_objects) == 3
    assert {call["_id"] for call in calls} == {key.split("/")[2] for key in new_objects}
    assert spool_is_empty(services)
    assert (await get_job(api, key, job["id"]))["status"] == "PROCESSING"

    finished = await wait_for_job(api, key, job["id"])
    assert finished["status"] == "FAILED"
    assert finished["counts"] == {
        "total": 4,
        "processed": 4,
        "failed": 1,
        "completed": 3,
        "duplicates": 0,
        "cancelled": 0,
    }
    by_name = items_by_name(finished)
    assert [by_name[name]["call_status"] for name in names] == ["COMPLETED"] * 3
    assert by_name[fake_name]["state"] == "REJECTED"
    assert by_name[fake_name]["error"]["code"] == "unsupported_format"
    assert by_name[fake_name]["call_id"] is None


async def test_a_job_whose_files_all_succeed_completes_and_each_file_goes_in_once(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    campaign_id, key = demo(services)
    names = [unique(f"ok{n}.mp3") for n in range(2)]
    response = await create_bulk_job(api, key, campaign_id, csv_rows(names), names)
    assert response.status_code == 201, response.text
    job = response.json()["job"]
    items = items_by_name(job)
    bodies = [speech(tmp_path, 10 + n) for n in range(2)]
    for name, body in zip(names, bodies, strict=True):
        answer = await put_file(api, key, job["id"], items[name]["id"], body)
        assert answer.status_code == 201, answer.text

    # Sending an uploaded item's file again is refused and stores nothing.
    objects_before = sorted(await stores.object_keys())
    again = await put_file(api, key, job["id"], items[names[0]]["id"], bodies[0])
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "item_already_uploaded"
    assert len(await calls_of_job(stores, job["id"])) == 2
    assert sorted(await stores.object_keys()) == objects_before

    finished = await wait_for_job(api, key, job["id"])
    assert finished["status"] == "COMPLETED"
    assert finished["counts"]["processed"] == finished["counts"]["completed"] == 2
    assert finished["counts"]["failed"] == 0
    for item in finished["items"]:
        assert (item["state"], item["call_status"]) == ("UPLOADED", "COMPLETED")
        assert item["size_bytes"] == item["bytes_received"] > 0
        assert item["bytes_per_second"] > 0
        assert item["upload_started_at"] is not None
    cancel = await api.post(f"/api/v1/jobs/{job['id']}/cancel", headers={"X-API-Key": key})
    assert cancel.status_code == 409, cancel.text
    assert cancel.json()["error"]["code"] == "job_finished"


async def test_cancel_stops_the_remaining_files_and_refuses_them_afterwards(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    campaign_id, key = demo(services)
    names = [unique(f"cancel{n}.mp3") for n in range(3)]
    response = await create_bulk_job(api, key, campaign_id, csv_rows(names), names)
    assert response.status_code == 201, response.text
    job = response.json()["job"]
    items = items_by_name(job)
    first = await put_file(api, key, job["id"], items[names[0]]["id"], speech(tmp_path, 20))
    assert first.status_code == 201, first.text

    cancelled = await api.post(f"/api/v1/jobs/{job['id']}/cancel", headers={"X-API-Key": key})
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["status"] == "CANCELLED"
    assert view["cancelled_at"] is not None
    assert [item["state"] for item in view["items"]] == ["UPLOADED", "CANCELLED", "CANCELLED"]
    assert view["counts"]["cancelled"] == 2
    stored = await stores.mongo[stores.database]["bulk_jobs"].find_one({"_id": job["id"]})
    assert stored is not None and stored["cancelled_at"] is not None
    assert await stores.count("bulk_job_items", {"job_id": job["id"], "state": "CANCELLED"}) == 2

    objects_before = sorted(await stores.object_keys())
    late = await put_file(api, key, job["id"], items[names[1]]["id"], speech(tmp_path, 21))
    assert late.status_code == 409, late.text
    assert late.json()["error"]["code"] == "job_cancelled"
    assert len(await calls_of_job(stores, job["id"])) == 1
    assert sorted(await stores.object_keys()) == objects_before
    assert spool_is_empty(services)
    again = await api.post(f"/api/v1/jobs/{job['id']}/cancel", headers={"X-API-Key": key})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_finished"
    # The file that was in before the cancel is processed to the end; the job stays cancelled.
    done = await wait_for_job(api, key, job["id"], frozenset({"CANCELLED"}))
    assert done["counts"]["total"] == 3


async def test_the_preview_shows_hostile_names_formulas_bad_dates_and_missing_files(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    campaign_id, key = demo(services)
    csv = (
        "file_name,agent_name,call_type,call_date,customer_id\n"
        "../../etc/passwd.mp3,Eve,INBOUND,2026-01-15,\n"
        "good.mp3,=cmd|' /C calc'!A0,OUTBOUND,2026-01-15,+44123\n"
        "baddate.mp3,Bob,INBOUND,15/01/2026,\n"
        "missing.mp3,Ann,INBOUND,2026-01-15,\n"
    )
    selected = ["../../etc/passwd.mp3", "good.mp3", "baddate.mp3", "extra.mp3"]
    jobs_before = await stores.count("bulk_jobs")
    data = {"file_name": selected}
    files = {"csv": ("calls.csv", csv.encode(), "text/csv")}
    response = await api.post(
        f"/api/v1/campaigns/{campaign_id}/bulk-uploads/preview",
        headers={"X-API-Key": key},
        data=data,
        files=files,
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    rows = {row["line"]: row for row in preview["rows"]}
    assert "looks like a path" in rows[2]["errors"][0]
    assert rows[2]["file_name"] == "../../etc/passwd.mp3"
    assert rows[3]["errors"] == []
    assert rows[3]["metadata"]["agent_name"] == "'=cmd|' /C calc'!A0"
    assert rows[3]["metadata"]["customer_id"] == "'+44123"
    assert any("formula" in warning for warning in rows[3]["warnings"])
    assert rows[3]["matched"] is True
    assert "call_date must be a date as YYYY-MM-DD" in rows[4]["errors"][0]
    assert rows[5]["matched"] is False
    # A row naming a path claims no file, so the selected file of that name has no row either.
    assert preview["files_without_row"] == ["../../etc/passwd.mp3", "extra.mp3"]
    assert preview["ready_rows"] == 1
    assert await stores.count("bulk_jobs") == jobs_before


async def test_a_csv_without_a_ready_row_is_422_and_creates_nothing(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    campaign_id, key = demo(services)
    csv = CSV_HEADER + "a.mp3,Ann,INBOUND,15/01/2026,\nb.mp3,Bob,SIDEWAYS,2026-01-15,\n"
    before = (await stores.count("bulk_jobs"), await stores.count("bulk_job_items"))
    response = await create_bulk_job(api, key, campaign_id, csv, ["a.mp3", "b.mp3"])
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_csv"
    assert "line 2: call_date must be a date" in error["message"]
    assert "line 3: call_type must be INBOUND or OUTBOUND" in error["message"]
    missing = await create_bulk_job(api, key, campaign_id, "file_name\nz.mp3\n", ["a.mp3"])
    assert missing.status_code == 422
    assert "no CSV row names one of the selected files" in missing.json()["error"]["message"]
    assert (await stores.count("bulk_jobs"), await stores.count("bulk_job_items")) == before


async def test_an_oversized_csv_is_413_before_the_gateway_has_read_it(
    services: RunningServices, stores: StoreInspector
) -> None:
    campaign_id, key = demo(services)
    boundary = "csv-limit"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csv"; filename="huge.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nfile_name,agent_name\r\n"
    ).encode()
    declared = 2 * 1024**3  # a 2 GB CSV
    jobs_before = await stores.count("bulk_jobs")
    reader, writer = await asyncio.open_connection("127.0.0.1", services.http_port)
    writer.write(
        (
            f"POST /api/v1/campaigns/{campaign_id}/bulk-jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-API-Key: {key}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        ).encode()
        + head
    )
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    rows = b"call.mp3,John Smith\r\n" * 3000  # about 64 KB
    sent = 0
    while not answer.done() and sent < 256 * 1024 * 1024:
        writer.write(rows)
        try:
            await asyncio.wait_for(writer.drain(), timeout=5)
        except (TimeoutError, ConnectionError):
            break  # the gateway stopped reading: it has answered
        sent += len(rows)
    head_bytes = await asyncio.wait_for(answer, timeout=30)
    status_line, *header_lines = head_bytes.decode().split("\r\n")
    assert status_line.split()[1] == "413", status_line
    length = next(
        int(line.split(":", 1)[1])
        for line in header_lines
        if line.lower().startswith("content-length")
    )
    body = json.loads(await reader.readexactly(length))
    writer.close()
    assert body["error"]["code"] == "csv_too_large"
    assert "5 MB limit" in body["error"]["message"]
    # Stopped at the limit: what went out is the 5 MiB plus what the sockets buffer.
    assert 5 * 1024 * 1024 < sent < 64 * 1024 * 1024
    assert await stores.count("bulk_jobs") == jobs_before


async def test_another_campaigns_or_organisations_job_does_not_exist(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector, tmp_path: Path
) -> None:
    theirs_campaign, theirs_key = await other_campaign(stores, services)
    name = unique("theirs.mp3")
    created = await create_bulk_job(api, theirs_key, theirs_campaign, csv_rows([name]), [name])
    assert created.status_code == 201, created.text
    job = created.json()["job"]
    item_id = job["items"][0]["id"]
    ours = services.api_key
    stranger = await other_organisation_key(stores, services)
    objects_before = sorted(await stores.object_keys())
    for key in (ours, stranger):
        headers = {"X-API-Key": key}
        for response in (
            await api.get(f"/api/v1/jobs/{job['id']}", headers=headers),
            await put_file(api, key, job["id"], item_id, speech(tmp_path, 30)),
            await api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers),
            await api.get(f"/api/v1/campaigns/{theirs_campaign}/jobs", headers=headers),
            await create_bulk_job(api, key, theirs_campaign, csv_rows([name]), [name]),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "not_found"
    assert await calls_of_job(stores, job["id"]) == []
    assert sorted(await stores.object_keys()) == objects_before
    assert (await item_document(stores, item_id))["state"] == "WAITING"
    assert await stores.count("bulk_jobs", {"campaign_id": theirs_campaign}) == 1
    theirs = await get_job(api, theirs_key, job["id"])
    assert theirs["status"] == "QUEUED"


async def test_a_campaigns_jobs_are_listed_newest_first_page_by_page(
    api: httpx.AsyncClient, services: RunningServices, stores: StoreInspector
) -> None:
    page_size = 2
    campaign_id, key = await other_campaign(stores, services)
    created = []
    for n in range(3):
        name = unique(f"list{n}.mp3")
        response = await create_bulk_job(api, key, campaign_id, csv_rows([name]), [name])
        assert response.status_code == 201, response.text
        created.append(response.json()["job"]["id"])
    seen: list[dict[str, Any]] = []
    cursor = ""
    while True:
        response = await api.get(
            f"/api/v1/campaigns/{campaign_id}/jobs",
            headers={"X-API-Key": key},
            params={"limit": page_size, **({"cursor": cursor} if cursor else {})},
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["jobs"]) <= page_size
        seen += page["jobs"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [job["id"] for job in seen] == created[::-1]
    assert all(job["status"] == "QUEUED" and job["counts"]["total"] == 1 for job in seen)
    assert all("items" not in job for job in seen)
