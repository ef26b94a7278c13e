"""The Upload, Bulk upload and Jobs screens in a real Chromium: drag-and-drop and browsed files,
per-file progress and errors, cancelling mid-upload, and a bulk CSV job followed to the end."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, FilePayload, Locator, Page, expect

from tests.support.audio import RenderedAudio, convert, render_mono, render_noise
from tests.support.browser import WebSession, sign_in
from tests.support.call_scripts import SHORT_GREETING
from tests.support.jobs import get_job, items_by_name, other_campaign, wait_for_job
from tests.support.people import Person
from tests.support.polling import wait_for
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

# Calls are transcribed and analysed on a busy two-core machine.
PROCESSING_TIMEOUT_MS = 300_000
# The cancelled upload crawls at this many bytes per second (Chromium's network emulation).
THROTTLED_UPLOAD_BPS = 96 * 1024

# Builds the dropped files from base64 in the page and fires the drag events a person's drop
# fires, on the drop zone.
_DROP = """
([selector, files]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, { type: f.type }));
  }
  const zone = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true,
      dataTransfer: transfer }));
  }
}
"""


async def drop_files(page: Page, files: list[tuple[str, bytes, str]]) -> None:
    """Drops the files (name, bytes, type) on the page's drop zone."""
    payload = [
        {"name": name, "data": base64.b64encode(data).decode(), "type": kind}
        for name, data, kind in files
    ]
    await page.evaluate(_DROP, ["[data-role=dropzone]", payload])


def file_row(page: Page, name: str) -> Locator:
    """The upload list's line of one file."""
    return page.locator(f'.upload-list li[data-file="{name}"]')


async def open_upload(
    browser: Browser, services: RunningServices, owner: Person, campaign: str
) -> WebSession:
    """Signs in and opens the Upload screen with the campaign pre-selected."""
    session = await sign_in(browser, services.gateway_url, owner.email, owner.password)
    await session.page.goto(f"/#/upload?campaign={campaign}")
    await expect(session.page.locator("#campaign")).to_have_value(campaign)
    return session


async def test_two_dropped_files_upload_in_parallel_and_reach_completed(
    browser: Browser,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    rendered: dict[str, RenderedAudio],
    tmp_path: Path,
) -> None:
    campaign_id, key = await other_campaign(stores, services)
    first = convert(rendered["compliant"].path, "mp3", tmp_path / "call_JS001_first.mp3")
    second = convert(rendered["no_verification"].path, "mp3", tmp_path / "second-call.mp3")
    session = await open_upload(browser, services, owner, campaign_id)
    try:
        page = session.page
        await drop_files(page, [(p.name, p.read_bytes(), "audio/mpeg") for p in (first, second)])
        await expect(page.locator("[data-role=selection] li")).to_have_count(2)
        await page.get_by_text("Add metadata").click()
        await page.get_by_label("Disposition").fill("Sale Completed")
        await page.get_by_label("Call type").select_option("OUTBOUND")
        await page.get_by_role("button", name="Upload 2 files").click()

        for path in (first, second):
            row = file_row(page, path.name)
            await expect(row.locator("[data-role=percent]")).to_have_text("100%")
            await expect(row.locator('[data-status="COMPLETED"]')).to_be_visible(
                timeout=PROCESSING_TIMEOUT_MS
            )
            await expect(row.get_by_role("link", name="Open the call")).to_be_visible()
        await expect(page.locator("[data-role=batch-status]")).to_contain_text("finished")
        await session.screenshot("upload")

        job_id = await page.locator("section.batch").get_attribute("data-job")
        assert job_id
        job = await get_job(api, key, job_id)
        assert (job["source"], job["status"], job["counts"]["completed"]) == ("UI", "COMPLETED", 2)
        assert {item["metadata"].get("disposition") for item in job["items"]} == {"Sale Completed"}
        session.assert_no_errors()
    finally:
        await session.close()


async def test_browsed_files_show_each_files_own_error(
    browser: Browser,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    tmp_path: Path,
) -> None:
    campaign_id, key = await other_campaign(stores, services, auto_processing=False)
    original_audio = render_noise(tmp_path / "original.wav", 12.0, seed=4242).read_bytes()
    original = await api.post(
        "/api/v1/calls/upload",
        headers={"X-API-Key": key},
        files={"file": ("original.wav", original_audio, "audio/wav")},
    )
    assert original.status_code == 201, original.text
    short = render_noise(tmp_path / "short.wav", 3.0, seed=77).read_bytes()
    session = await open_upload(browser, services, owner, campaign_id)
    try:
        page = session.page
        await page.locator("[data-role=file-browser]").set_input_files(
            files=[
                FilePayload(
                    name="notes.wav", mimeType="audio/wav", buffer=b"not audio at all\n" * 64
                ),
                FilePayload(name="again.wav", mimeType="audio/wav", buffer=original_audio),
                FilePayload(name="short.wav", mimeType="audio/wav", buffer=short),
                FilePayload(name="readme.txt", mimeType="text/plain", buffer=b"hello"),
            ]
        )
        # Checked in the browser before anything is sent, in the server's words.
        await expect(
            page.locator('[data-role=selection] li[data-file="readme.txt"]')
        ).to_contain_text("not audio we can read")
        await page.get_by_role("button", name="Upload 3 files").click()

        fake = file_row(page, "notes.wav")
        await expect(fake).to_have_attribute("data-state", "error")
        await expect(fake.locator("[data-role=message]")).to_contain_text("not audio")
        await expect(file_row(page, "short.wav").locator("[data-role=message]")).to_contain_text(
            "at least 10 s"
        )
        duplicate = file_row(page, "again.wav")
        await expect(duplicate).to_have_attribute("data-state", "duplicate")
        link = duplicate.get_by_role("link", name="Open the original call")
        await expect(link).to_have_attribute("href", f"#/calls/{original.json()['id']}")
        await session.screenshot("upload-errors")
        session.assert_no_errors()
    finally:
        await session.close()


async def test_cancelling_a_file_mid_upload_discards_it_and_the_others_go_on(
    browser: Browser,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    tmp_path: Path,
) -> None:
    campaign_id, key = await other_campaign(stores, services)
    # About 6 MB (under the test stack's 8 MB limit): a minute at the throttled speed.
    big = render_noise(tmp_path / "long-call.wav", 190.0, seed=99)
    spoken = render_mono(SHORT_GREETING, tmp_path / "kept.wav", pause_s=0.83).path
    small = convert(spoken, "mp3", tmp_path / "kept-call.mp3")
    session = await open_upload(browser, services, owner, campaign_id)
    try:
        page = session.page
        cdp = await session.context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": THROTTLED_UPLOAD_BPS,
            },
        )
        await page.locator("[data-role=file-browser]").set_input_files([str(big), str(small)])
        await page.get_by_role("button", name="Upload 2 files").click()
        row = file_row(page, big.name)
        await expect(row).to_have_attribute("data-state", "uploading")
        job_id = await page.locator("section.batch").get_attribute("data-job")
        assert job_id

        async def arriving() -> dict[str, Any] | None:
            item = items_by_name(await get_job(api, key, job_id))[big.name]
            return item if item["state"] == "UPLOADING" and item["bytes_received"] > 0 else None

        # The server has part of the file when the X is clicked.
        partial = await wait_for(arriving, timeout_s=60, describe="the upload to be under way")
        assert partial["bytes_received"] < big.stat().st_size
        await expect(row.locator("[data-role=speed]")).to_contain_text("/s")
        await session.screenshot("upload-in-progress")
        await page.get_by_role("button", name=f"Cancel {big.name}").click()
        await expect(row).to_have_attribute("data-state", "cancelled")
        await expect(row.locator("[data-role=message]")).to_contain_text("discarded")

        # Only that file was given up: the other one is uploaded and processed to the end.
        await expect(file_row(page, small.name).locator('[data-status="COMPLETED"]')).to_be_visible(
            timeout=PROCESSING_TIMEOUT_MS
        )
        await expect(page.locator("[data-role=batch-status]")).to_contain_text("finished")
        job = await wait_for_job(api, key, job_id)
        assert (job["status"], job["cancelled_at"]) == ("COMPLETED", None)
        counts = job["counts"]
        assert (counts["total"], counts["completed"], counts["cancelled"]) == (2, 1, 1)
        items = items_by_name(job)
        dropped, kept = items[big.name], items[small.name]
        assert (dropped["state"], dropped["call_id"]) == ("CANCELLED", None)
        assert kept["state"] == "UPLOADED" and kept["call_id"]
        assert await stores.count("calls", {"job_item_id": dropped["id"]}) == 0
        assert await stores.count("calls", {"campaign_id": campaign_id}) == 1
        objects = [k for k in await stores.object_keys() if f"/{campaign_id}/" in k]
        assert objects and all(f"/{kept['call_id']}/" in k for k in objects)
        session.assert_no_errors()
    finally:
        await session.close()


def bulk_csv(names: dict[str, str]) -> str:
    return (
        "file_name,agent_name,agent_code,call_type,call_date,disposition\n"
        f"{names['first']},John Smith,JS001,OUTBOUND,2026-01-15,Sale Completed\n"
        f"{names['second']},Jane Doe,JD002,INBOUND,2026-01-15,Issue Resolved\n"
        f"{names['bad']},John Smith,JS001,SIDEWAYS,2026-13-45,No Answer\n"
        f"{names['missing']},Jane Doe,JD002,INBOUND,2026-01-16,No Answer\n"
    )


async def test_bulk_upload_previews_the_csv_and_jobs_follow_it_to_completion(
    browser: Browser,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
    rendered: dict[str, RenderedAudio],
    tmp_path: Path,
) -> None:
    campaign_id, key = await other_campaign(stores, services)
    suffix = uuid.uuid4().hex[:6]
    names = {
        "first": f"bulk1-{suffix}.mp3",
        "second": f"bulk2-{suffix}.mp3",
        "bad": f"bulk3-{suffix}.mp3",
        "missing": f"bulk4-{suffix}.mp3",
    }
    first = convert(rendered["compliant"].path, "mp3", tmp_path / names["first"])
    second = convert(rendered["no_greeting"].path, "mp3", tmp_path / names["second"])
    bad = tmp_path / names["bad"]
    bad.write_bytes(first.read_bytes())
    csv = tmp_path / "calls.csv"
    csv.write_text(bulk_csv(names))
    session = await sign_in(browser, services.gateway_url, owner.email, owner.password)
    try:
        page = session.page
        await page.goto(f"/#/campaigns/{campaign_id}/bulk")
        await page.locator("input[type=file][accept^='.csv']").set_input_files(str(csv))
        await expect(page.locator("[data-role=preview-summary]")).to_contain_text("0 of 4 rows")
        await page.locator("[data-role=dropzone] input[type=file]").set_input_files(
            [str(first), str(second), str(bad)]
        )
        await expect(page.locator("[data-role=preview-summary]")).to_contain_text("2 of 4 rows")
        bad_row = page.locator("tr[data-line='4']")
        await expect(bad_row).to_have_class("problem")
        await expect(bad_row.locator(".problems")).to_contain_text("call_type must be INBOUND")
        await expect(page.locator("tr[data-line='5']")).to_contain_text("no file with this name")
        await expect(page.locator("tr[data-line='2']")).to_have_attribute("data-ready", "true")
        await session.screenshot("bulk-preview")

        await page.get_by_role("button", name="Start Upload").click()
        for path in (first, second):
            await expect(file_row(page, path.name)).to_have_attribute(
                "data-state", "uploaded", timeout=60_000
            )
        await expect(page.locator(f'.upload-list li[data-file="{names["bad"]}"]')).to_have_count(0)

        await page.get_by_role("link", name="Open Jobs to follow the processing").click()
        job_row = page.locator("table.jobs-table tbody tr[data-job]").first
        await expect(job_row.locator("[data-col=total]")).to_have_text("2")
        await expect(job_row).to_have_attribute("data-status", "PROCESSING")
        await session.screenshot("jobs")
        await expect(job_row).to_have_attribute(
            "data-status", "COMPLETED", timeout=PROCESSING_TIMEOUT_MS
        )
        await expect(job_row.locator("[data-col=processed]")).to_have_text("2")
        await expect(job_row.locator("[data-col=failed]")).to_have_text("0")
        await job_row.get_by_role("button", name="Files").click()
        await expect(page.locator("tr.job-items")).to_contain_text(names["second"])
        job_id = await job_row.get_attribute("data-job")
        assert job_id
        job = await get_job(api, key, job_id)
        assert (job["source"], job["status"]) == ("BULK", "COMPLETED")
        session.assert_no_errors()
    finally:
        await session.close()


async def test_a_running_job_is_cancelled_from_the_jobs_screen(
    browser: Browser,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
) -> None:
    campaign_id, key = await other_campaign(stores, services, auto_processing=False)
    created = await api.post(
        f"/api/v1/campaigns/{campaign_id}/upload-batches",
        headers={"X-API-Key": key},
        json={"files": [{"file_name": "never-sent.wav", "size_bytes": 1000}]},
    )
    assert created.status_code == 201, created.text
    session = await sign_in(browser, services.gateway_url, owner.email, owner.password)
    try:
        page = session.page
        await page.goto(f"/#/campaigns/{campaign_id}/jobs")
        row = page.locator(f"tr[data-job='{created.json()['id']}']")
        await expect(row).to_have_attribute("data-status", "QUEUED")
        await row.get_by_role("button", name="Cancel").click()
        await page.get_by_role("dialog").get_by_role("button", name="Cancel job").click()
        await expect(row).to_have_attribute("data-status", "CANCELLED")
        await expect(row.get_by_role("button", name="Cancel")).to_have_count(0)
        job = await get_job(api, key, created.json()["id"])
        assert job["status"] == "CANCELLED"
        session.assert_no_errors()
    finally:
        await session.close()
