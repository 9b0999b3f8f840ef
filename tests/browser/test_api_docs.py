"""The API reference at /api/v1/docs/ in Chromium: every operation listed, under the strict CSP,
at laptop and phone width."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, Chromium, browser_db
from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, browser_db]


@pytest.mark.parametrize(("name", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_the_reference_lists_every_operation_without_console_errors(
    chromium: Chromium, daphne_server: LiveServer, name: str, viewport: dict[str, int]
):
    context = chromium.browser.new_context(viewport=viewport, base_url=daphne_server.http_url)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.goto("/api/v1/docs/")

    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 30
    expect(page.get_by_text("Send a message").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"api-docs-{name}.png")
    context.close()
    assert problems == []
