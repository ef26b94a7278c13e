"""Headless Chromium for the web application's tests: Debian's browser driven by Playwright.

`make setup` installs Debian's `chromium`; Playwright never downloads a browser here, it
launches that executable. Every page records the browser-side errors it meets (uncaught
exceptions and console errors), so a test can assert the screens ran cleanly, and tests
save screenshots of the main screens under `.local/artifacts/screenshots/` (CI keeps them).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, expect

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(
    os.environ.get("CALLSCOPE_SCREENSHOTS", REPO / ".local" / "artifacts" / "screenshots")
)
# Debian's package installs the browser here; CHROMIUM_PATH overrides (another distribution).
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_MS = 20_000
# Browser console messages that are expected answers, not faults: a denied request logs
# "Failed to load resource: the server responded with a status of 403".
_EXPECTED_CONSOLE = re.compile(r"Failed to load resource: the server responded with a status")


@dataclass
class WebSession:
    """A signed-in browser tab and the errors its pages raised."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    def assert_no_errors(self) -> None:
        """The screens raised no uncaught exception and logged no console error."""
        assert not self.errors, "browser errors:\n" + "\n".join(self.errors)

    async def screenshot(self, name: str) -> Path:
        """Saves a full-page screenshot as <name>.png among the run's artefacts."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def close(self) -> None:
        """Closes the tab and its cookies."""
        await self.context.close()


async def open_session(browser: Browser, base_url: str) -> WebSession:
    """A fresh browser context (own cookies) with one page, recording errors."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    session = WebSession(context, page)
    page.on("pageerror", lambda error: session.errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            session.errors.append(f"console: {message.text}")
            if message.type == "error" and not _EXPECTED_CONSOLE.search(message.text)
            else None
        ),
    )
    return session


async def sign_in(browser: Browser, base_url: str, email: str, password: str) -> WebSession:
    """Logs in through the login screen and waits for the signed-in shell."""
    session = await open_session(browser, base_url)
    page = session.page
    await page.goto("/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#who")).to_contain_text(email)
    return session
