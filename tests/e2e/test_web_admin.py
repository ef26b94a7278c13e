"""The Campaigns, Campaign settings, Users and Audit log screens in a real Chromium: settings,
checks, API keys and SFTP saved through the screens and read back over REST."""

from __future__ import annotations

import re
import secrets
import uuid

import httpx
from callscope_gateway.adapters.mongo import MongoDirectory
from playwright.async_api import Browser, Locator, Page, expect

from tests.support.browser import sign_in
from tests.support.jobs import other_campaign
from tests.support.people import Person, new_person
from tests.support.services import RunningServices
from tests.support.stores import StoreInspector

# A raw campaign API key: tv_ and its random part.
RAW_KEY = re.compile(r"^tv_\S{20,}$")


async def confirm(page: Page, button: str) -> None:
    """Confirms the open confirmation dialog with its button."""
    await page.get_by_role("dialog").get_by_role("button", name=button).click()


async def change_settings(page: Page, api: httpx.AsyncClient, owner: Person, campaign: str) -> None:
    """Threshold and auto-processing saved through the form and read back over REST."""
    await page.get_by_label("Flag threshold (0–100)").fill("55")
    await page.get_by_label("Auto-processing").uncheck()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#toasts")).to_contain_text("Settings saved")
    saved = (await api.get(f"/api/v1/campaigns/{campaign}", headers=owner.headers)).json()
    assert (saved["flag_threshold"], saved["auto_processing"]) == (55, False)


async def add_and_move_a_check(
    page: Page, api: httpx.AsyncClient, owner: Person, campaign: str
) -> Locator:
    """Adds a check (last in order), moves it up one place; returns its row."""
    checks = page.locator("[data-role=checks]")
    await checks.get_by_role("button", name="Add check").click()
    await page.locator("#check-name").fill("Mentions the refund policy")
    await page.get_by_label("Question").fill("Did the agent explain the refund policy?")
    await page.get_by_label("Phrases that pass it (one per line)").fill("refund policy")
    await checks.get_by_role("button", name="Add check").last.click()
    added = checks.locator("tbody tr", has_text="Mentions the refund policy")
    await expect(added).to_be_visible()
    count = await checks.locator("tbody tr").count()
    await expect(checks.locator("tbody tr").nth(count - 1)).to_contain_text("refund policy")
    await added.get_by_role("button", name="Move Mentions the refund policy up").click()
    await expect(checks.locator("tbody tr").nth(count - 2)).to_contain_text("refund policy")
    listed = await api.get(f"/api/v1/campaigns/{campaign}/checks", headers=owner.headers)
    names = [check["name"] for check in listed.json()["checks"]]
    assert names.index("Mentions the refund policy") == count - 2
    return added


async def generate_a_key(page: Page, api: httpx.AsyncClient) -> tuple[str, Locator]:
    """Generates a key: shown once with a Copy button, and it works. Returns it and its row."""
    keys = page.locator("[data-role=api-keys]")
    await keys.get_by_label("Name (optional)").fill("CRM integration")
    await keys.get_by_role("button", name="Generate API key").click()
    field = page.get_by_label("New API key")
    await expect(field).to_have_value(RAW_KEY)
    raw = await field.input_value()
    await keys.get_by_role("button", name="Copy").click()
    await expect(keys.get_by_role("status")).to_contain_text("Cop")
    works = await api.get("/api/v1/campaigns", headers={"X-API-Key": raw})
    assert works.status_code == 200
    row = keys.locator("tbody tr", has_text="CRM integration")
    await expect(row).to_contain_text(raw[:9])
    assert raw not in (await keys.locator("table").inner_text())
    return raw, row


async def save_sftp_settings(
    page: Page, api: httpx.AsyncClient, owner: Person, campaign: str
) -> None:
    """SFTP settings saved through the form (read back over REST); the tables render."""
    slug = f"ui-{uuid.uuid4().hex[:8]}"
    sftp = page.locator("[data-role=sftp]")
    await sftp.get_by_label("Enable SFTP ingestion for this campaign").check()
    await sftp.get_by_label("Folder slug").fill(slug)
    await sftp.get_by_label("CSV metadata file").select_option("required")
    await sftp.get_by_label("Batch window (seconds)").fill("120")
    await sftp.get_by_label("Agent file-name pattern").fill("*_{agent}_*.wav")
    await sftp.get_by_role("button", name="Save SFTP settings").click()
    await expect(sftp.locator("[data-role=upload-path]")).to_contain_text(f"/{slug}/")
    await expect(sftp.get_by_role("heading", name="Batches")).to_be_visible()
    await expect(sftp.get_by_role("heading", name="Files")).to_be_visible()
    saved = (await api.get(f"/api/v1/campaigns/{campaign}", headers=owner.headers)).json()
    assert saved["sftp"]["enabled"] is True
    assert (saved["sftp"]["folder_slug"], saved["sftp"]["csv"]) == (slug, "required")
    assert saved["sftp"]["batch_window_seconds"] == 120
    assert saved["sftp"]["agent_file_name_pattern"] == "*_{agent}_*.wav"


async def test_campaign_settings_checks_api_keys_and_sftp_are_saved(
    browser: Browser,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
) -> None:
    campaign_id, _ = await other_campaign(stores, services)
    session = await sign_in(browser, services.gateway_url, owner.email, owner.password)
    await session.context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        page = session.page
        await page.goto("/#/campaigns")
        await page.locator(f"tr[data-campaign='{campaign_id}'] a").first.click()
        await expect(page.get_by_role("link", name="Upload calls")).to_have_attribute(
            "href", f"#/upload?campaign={campaign_id}"
        )
        await change_settings(page, api, owner, campaign_id)
        added = await add_and_move_a_check(page, api, owner, campaign_id)
        raw, key_row = await generate_a_key(page, api)
        await save_sftp_settings(page, api, owner, campaign_id)
        await session.screenshot("campaign-settings")

        await key_row.get_by_role("button", name="Revoke").click()
        await confirm(page, "Revoke key")
        await expect(key_row).to_contain_text("Revoked")
        gone = await api.get("/api/v1/campaigns", headers={"X-API-Key": raw})
        assert gone.status_code == 401

        await added.get_by_role("button", name="Delete").click()
        await confirm(page, "Delete check")
        await expect(added).to_have_count(0)

        # After a reload the key is listed, revoked, and its raw value is never shown again.
        await page.reload()
        await expect(page.locator("[data-role=api-keys] tbody tr", has_text="CRM")).to_contain_text(
            "Revoked"
        )
        await expect(page.get_by_label("New API key")).to_have_count(0)
        assert raw not in await page.content()
        session.assert_no_errors()
    finally:
        await session.close()
        # The sweeper need not look for this campaign's folder after the test.
        await api.patch(
            f"/api/v1/campaigns/{campaign_id}",
            headers=owner.headers,
            json={"sftp": {"enabled": False}},
        )


async def test_owner_creates_a_manager_with_a_campaign_and_the_audit_log_shows_it(
    browser: Browser,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    owner: Person,
) -> None:
    campaign_id, _ = await other_campaign(stores, services)
    campaign = (await api.get(f"/api/v1/campaigns/{campaign_id}", headers=owner.headers)).json()
    email = f"manager-{uuid.uuid4().hex[:8]}@example.com"
    session = await sign_in(browser, services.gateway_url, owner.email, owner.password)
    try:
        page = session.page
        await page.goto("/#/users")
        form = page.locator("[data-role=new-user]")
        await form.get_by_label("Email").fill(email)
        await form.get_by_label("Password (at least 12 characters)").fill(secrets.token_urlsafe(16))
        await form.get_by_label("Role", exact=True).select_option("MANAGER")
        await form.get_by_label(campaign["name"]).check()
        await form.get_by_role("button", name="Create user").click()
        row = page.locator(f"tr[data-user='{email}']")
        await expect(row).to_contain_text("Manager")
        await expect(row).to_contain_text(campaign["name"])
        users = (await api.get("/api/v1/users", headers=owner.headers)).json()["users"]
        made = next(u for u in users if u["email"] == email)
        assert (made["role"], made["campaign_ids"]) == ("MANAGER", [campaign_id])

        # Change the role, then disable the login.
        await row.get_by_role("button", name="Edit").click()
        editor = page.locator("[data-role=edit-user]")
        await editor.get_by_label("Role", exact=True).select_option("COMPLIANCE_OFFICER")
        await editor.get_by_role("button", name="Save user").click()
        await expect(row).to_contain_text("Compliance Officer")
        await row.get_by_role("button", name="Disable").click()
        await expect(row).to_contain_text("Disabled")
        await session.screenshot("users")

        await page.goto("/#/audit")
        entries = page.locator("[data-role=audit] tbody tr")
        await expect(entries.first).to_be_visible()
        await page.get_by_label("Action").select_option("CREATED")
        await page.get_by_label("Target type").select_option("user")
        await page.get_by_role("button", name="Filter").click()
        created = page.locator("[data-role=audit] tr[data-action='CREATED']", has_text=made["id"])
        await expect(created).to_be_visible()
        await expect(created).to_contain_text(owner.email)
        assert "action=CREATED" in page.url
        await page.get_by_role("button", name="Clear").click()
        await expect(
            page.locator("[data-role=audit] tr[data-action='CHANGED']").first
        ).to_be_visible()
        await session.screenshot("audit-log")

        await page.goto("/#/users")
        await row.get_by_role("button", name="Delete").click()
        await confirm(page, "Delete user")
        await expect(row).to_have_count(0)
        session.assert_no_errors()
    finally:
        await session.close()


async def test_a_manager_sees_what_the_role_may_do_and_no_more(
    browser: Browser,
    api: httpx.AsyncClient,
    services: RunningServices,
    stores: StoreInspector,
    directory: MongoDirectory,
) -> None:
    campaign_id, _ = await other_campaign(stores, services)
    manager = await new_person(
        api, directory, services.credentials["org_id"], "MANAGER", campaign_ids=[campaign_id]
    )
    session = await sign_in(browser, services.gateway_url, manager.email, manager.password)
    try:
        page = session.page
        nav = page.locator("#nav")
        await expect(nav.get_by_role("link", name="Upload")).to_be_visible()
        await expect(nav.get_by_role("link", name="Users")).to_have_count(0)
        await expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)

        await page.goto(f"/#/campaigns/{campaign_id}")
        await expect(page.get_by_text("Your role may view these settings")).to_be_visible()
        await expect(page.get_by_label("Flag threshold (0–100)")).to_be_disabled()
        await expect(page.get_by_role("button", name="Save settings")).to_have_count(0)
        await expect(page.get_by_role("button", name="Add check")).to_have_count(0)
        await expect(page.locator("[data-role=api-keys]")).to_have_count(0)
        await expect(page.get_by_role("button", name="Save SFTP settings")).to_have_count(0)
        # Managers follow SFTP batches and files, and may upload.
        sftp = page.locator("[data-role=sftp]")
        await expect(sftp.get_by_role("heading", name="Batches")).to_be_visible()
        await expect(page.get_by_role("link", name="Upload calls")).to_be_visible()

        await page.goto("/#/users")
        await expect(page.get_by_role("alert")).to_contain_text("only owners manage users")
        session.assert_no_errors()
    finally:
        await session.close()
