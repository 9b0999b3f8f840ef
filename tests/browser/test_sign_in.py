"""Signing in from a phone, wrong passwords and the pause they lead to."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, PHONE, SCREENSHOTS, browser_db

pytestmark = [pytest.mark.browser, browser_db]


def test_wrong_passwords_say_so_and_the_limit_says_when_to_try_again(
    chromium, daphne_server, alice
):
    context = chromium.browser.new_context(viewport=PHONE, base_url=daphne_server.http_url)
    page = context.new_page()
    page.goto("/login/")

    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill(alice.username)
        page.get_by_label("Password").fill(f"not-it-{attempt}")
        page.get_by_role("button", name="Sign in").click()
        if attempt < settings.AXES_FAILURE_LIMIT - 1:
            expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("paused for 15 minutes")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "phone-sign-in-paused.png")
    page.get_by_role("link", name="Back to sign in").click()
    page.get_by_label("Username").fill(alice.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
