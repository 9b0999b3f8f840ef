"""The MFA step a privileged local account goes through looks like eim's sign-in, not like
allauth's bare page (whose menu offered sign-up, which eim closes)."""

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from playwright.sync_api import expect

from accounts.models import Role
from tests.browser.conftest import (
    LAPTOP,
    PASSWORD,
    PHONE,
    SCREENSHOTS,
    _totp_if_privileged,
    browser_db,
    totp_code,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, browser_db]


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_code_step_sits_in_the_sign_in_card_and_signs_in(chromium, daphne_server, viewport):
    ada = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    _totp_if_privileged(ada)
    context = chromium.browser.new_context(viewport=viewport, base_url=daphne_server.http_url)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/accounts/2fa/authenticate/")
    expect(page.locator("main.login-card")).to_be_visible()
    expect(page.get_by_role("link", name="Sign Up")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"mfa-code-{viewport['width']}.png")
    page.locator("input[name=code]").fill(totp_code())
    page.get_by_role("button", name="Sign In", exact=True).click()

    page.wait_for_url("**/")
    expect(page.locator("main.login-card")).to_have_count(0)
    context.close()


def _sign_in_with_totp(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.locator("input[name=code]").fill(totp_code())
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url("**/")


def test_the_recovery_codes_page_has_two_separate_buttons_on_a_phone(chromium, daphne_server):
    ada = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    _totp_if_privileged(ada)
    RecoveryCodes.activate(ada)
    context = chromium.browser.new_context(
        viewport=PHONE, base_url=daphne_server.http_url, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    _sign_in_with_totp(page, "ada")

    page.goto("/accounts/2fa/recovery-codes/")
    download = page.get_by_role("link", name="Download codes").bounding_box()
    generate = page.get_by_role("link", name="Generate new codes").bounding_box()
    page.screenshot(path=SCREENSHOTS / "mfa-recovery-codes-375.png")
    context.close()

    assert download is not None
    assert generate is not None
    apart = (
        generate["y"] >= download["y"] + download["height"]
        or generate["x"] >= download["x"] + download["width"] + 4
    )
    assert apart, (download, generate)
    assert min(download["height"], generate["height"]) >= 36
