"""The web application's shell in a real Chromium: login, the session cookie, CSRF, logout."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.support.browser import open_session, sign_in
from tests.support.people import Person
from tests.support.services import RunningServices


async def test_login_sets_an_httponly_strict_cookie_and_logout_ends_the_session(
    browser: Browser, services: RunningServices, owner: Person
) -> None:
    session = await sign_in(browser, services.gateway_url, owner.email, owner.password)
    try:
        page = session.page
        cookies = {c["name"]: c for c in await session.context.cookies()}
        cookie = cookies["callscope_session"]
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["secure"] is False  # plain HTTP on loopback; Secure over TLS
        # The page's scripts cannot read the session token.
        assert "callscope_session" not in await page.evaluate("document.cookie")
        await expect(page.locator("#nav")).to_contain_text("Calls")
        await session.screenshot("shell-after-login")

        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("button", name="Log in")).to_be_visible()
        ended = {"callscope_session": cookie["value"]}
        async with httpx.AsyncClient(base_url=services.gateway_url, cookies=ended) as client:
            gone = await client.get("/api/v1/auth/me")
        assert gone.status_code == 401
        session.assert_no_errors()
    finally:
        await session.close()


async def test_a_wrong_password_is_told_on_the_login_screen(
    browser: Browser, services: RunningServices, owner: Person
) -> None:
    session = await open_session(browser, services.gateway_url)
    try:
        page = session.page
        await page.goto("/#/calls")
        await page.get_by_label("Email").fill(owner.email)
        await page.get_by_label("Password").fill("not the password at all")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("alert")).to_contain_text("password")
        assert "callscope_session" not in {c["name"] for c in await session.context.cookies()}
        await session.screenshot("login-wrong-password")
    finally:
        await session.close()


async def test_cookie_writes_need_the_session_csrf_token(
    api: httpx.AsyncClient, services: RunningServices, owner: Person
) -> None:
    login = await api.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": owner.password}
    )
    token, csrf = login.json()["token"], login.json()["csrf_token"]
    cookies = {"callscope_session": token}
    async with httpx.AsyncClient(base_url=services.gateway_url, cookies=cookies) as client:
        reads = await client.get("/api/v1/campaigns")
        assert reads.status_code == 200
        forged = await client.post("/api/v1/campaigns", json={"name": "Forged by a form"})
        assert forged.status_code == 403
        assert forged.json()["error"]["code"] == "csrf_failed"
        wrong = await client.post(
            "/api/v1/campaigns", json={"name": "Forged"}, headers={"X-CSRF-Token": "0" * 64}
        )
        assert wrong.status_code == 403
        made = await client.post(
            "/api/v1/campaigns", json={"name": "Made by the page"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201, made.text
    names = [
        c["name"]
        for c in (await api.get("/api/v1/campaigns", headers=owner.headers)).json()["campaigns"]
    ]
    assert names.count("Made by the page") == 1
    assert "Forged by a form" not in names and "Forged" not in names


async def test_pages_carry_the_browser_security_headers(api: httpx.AsyncClient) -> None:
    page = await api.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    script = await api.get("/static/js/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
