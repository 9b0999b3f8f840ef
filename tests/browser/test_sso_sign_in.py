"""Signing in with the company's SSO in a real browser: the button on our page, the real
OIDC provider's own login and consent pages, and back to where the person was going."""

import json
import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from accounts.models import IdentityProviderKind
from accounts.services.identities import identity_provider_create
from tests.accounts.sso.conftest import OIDC_DIR, _npm_ci, rsa_private_jwk
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, browser_db, in_db_thread
from tests.conftest import LiveServer, free_port

pytestmark = [pytest.mark.browser, browser_db]


@pytest.fixture(scope="module")
def live_idp(daphne_process: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """node-oidc-provider knowing the live server's callback."""
    _npm_ci()
    folder = tmp_path_factory.mktemp("oidc-browser")
    (folder / "keys.json").write_text(json.dumps({"keys": [rsa_private_jwk("k1")]}))
    (folder / "accounts.json").write_text(
        json.dumps({"emp-7": {"email": "eve@corp.example", "name": "Eve Evans", "groups": []}})
    )
    port = free_port()
    process = subprocess.Popen(
        ["node", str(OIDC_DIR / "server.js")],
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "PORT": str(port),
            "REDIRECT_URIS": f"{daphne_process.http_url}/accounts/oidc/corp/login/callback/",
            "JWKS_FILE": str(folder / "keys.json"),
            "ACCOUNTS_FILE": str(folder / "accounts.json"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b"ready")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.mark.parametrize(("name", "viewport"), [("desktop", LAPTOP), ("phone", PHONE)])
def test_sso_sign_in_round_trip(chromium, daphne_server, live_idp, name, viewport):
    in_db_thread(
        identity_provider_create,
        actor=None,
        slug="corp",
        kind=IdentityProviderKind.OIDC,
        name="Corp SSO",
        issuer=live_idp,
        config={"client_id": "eim", "client_secret": "eim-test-secret"},
    )
    context = chromium.browser.new_context(viewport=viewport, base_url=daphne_server.http_url)
    page = context.new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto("/login/?next=/")
    button = page.get_by_role("button", name="Continue with Corp SSO")
    expect(button).to_be_visible()
    page.screenshot(path=SCREENSHOTS / f"{name}-sso-sign-in.png")
    button.click()
    page.locator("input[name=login]").fill("emp-7")
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()  # the provider's consent page

    expect(page.locator("#app")).to_be_visible()
    assert page.url.startswith(daphne_server.http_url)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=SCREENSHOTS / f"{name}-sso-signed-in.png")
    context.close()
