"""A privileged local account sets up a passkey (WebAuthn) through allauth's MFA pages and
signs in with it, in real headless Chromium with a CDP virtual authenticator standing in for
the security key. Served as http://localhost, which browsers and python-fido2 accept as a
secure origin (an IP address cannot be a WebAuthn relying party id)."""

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from accounts.models import Role, User
from tests.browser.conftest import (
    LAPTOP,
    PASSWORD,
    PHONE,
    SCREENSHOTS,
    browser_db,
    in_db_thread,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, browser_db]


def _authenticators(user: User) -> list[str]:
    return sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True))


def _password(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_passkey_is_registered_and_then_signs_in(chromium, daphne_server, viewport):
    ada = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    context = chromium.browser.new_context(
        viewport=viewport, base_url=f"http://localhost:{daphne_server.port}"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = viewport["width"]

    # A privileged account without MFA may only set it up.
    _password(page, "ada")
    page.wait_for_url("**/login/mfa-required/")
    page.goto("/accounts/2fa/webauthn/add/")
    page.screenshot(path=SCREENSHOTS / f"webauthn-add-{width}.png")
    page.locator("input[name=name]").fill("Ada's key")
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    assert "webauthn" in in_db_thread(_authenticators, ada)
    assert cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    page.screenshot(path=SCREENSHOTS / f"webauthn-added-{width}.png")

    # Signed out; the password alone no longer signs in: the key does.
    context.clear_cookies()
    _password(page, "ada")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.screenshot(path=SCREENSHOTS / f"webauthn-step-{width}.png")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url and "/login/" not in url)
    expect(page.locator("main.login-card")).to_have_count(0)
    page.screenshot(path=SCREENSHOTS / f"webauthn-signed-in-{width}.png")
    assert errors == []
    context.close()
