"""The real identity providers of the SSO tests: node-oidc-provider on 127.0.0.1 (its own login
and consent pages, driven over HTTP like a browser), and a pysaml2 IdP (tests/idp/saml.py)."""

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from accounts.models import IdentityProvider, IdentityProviderKind
from accounts.services.identities import identity_provider_create
from tests.conftest import ROOT, free_port

OIDC_DIR = ROOT / "tests" / "idp" / "oidc"
RP = "http://testserver"


def rsa_private_jwk(kid: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class OidcIdp:
    issuer: str
    port: int
    accounts_file: Path
    keys_file: Path
    process: subprocess.Popen[bytes]

    def accounts(self, accounts: dict[str, dict[str, Any]]) -> None:
        self.accounts_file.write_text(json.dumps(accounts))

    def start(self, keys: list[dict[str, Any]]) -> None:
        """(Re)start on the same port with these signing keys: a key rotation."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.keys_file.write_text(json.dumps({"keys": keys}))
        self.process = _spawn(self.port, self.accounts_file, self.keys_file)


def _npm_ci() -> None:
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=OIDC_DIR, check=True
        )


def _spawn(port: int, accounts_file: Path, keys_file: Path) -> subprocess.Popen[bytes]:
    callbacks = " ".join(f"{RP}/accounts/oidc/{slug}/login/callback/" for slug in ("corp", "alt"))
    process = subprocess.Popen(
        ["node", str(OIDC_DIR / "server.js")],
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "PORT": str(port),
            "REDIRECT_URIS": callbacks,
            "LOGOUT_URIS": f"{RP}/login/",
            "JWKS_FILE": str(keys_file),
            "ACCOUNTS_FILE": str(accounts_file),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    assert line.startswith("ready"), line
    return process


@pytest.fixture(scope="session")
def oidc_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcIdp]:
    _npm_ci()
    folder = tmp_path_factory.mktemp("oidc")
    port = free_port()
    accounts_file, keys_file = folder / "accounts.json", folder / "keys.json"
    accounts_file.write_text("{}")
    keys_file.write_text(json.dumps({"keys": [rsa_private_jwk("key-a")]}))
    idp = OidcIdp(
        f"http://127.0.0.1:{port}",
        port,
        accounts_file,
        keys_file,
        _spawn(port, accounts_file, keys_file),
    )
    yield idp
    idp.process.terminate()
    idp.process.wait(10)


@pytest.fixture
def corp(db: None, oidc_idp: OidcIdp) -> IdentityProvider:
    oidc_idp.accounts(
        {
            "okta-0001": {
                "email": "alice@corp.example",
                "email_verified": True,
                "name": "Alice Archer",
                "given_name": "Alice",
                "family_name": "Archer",
                "preferred_username": "alice.archer",
                "groups": ["eng", "everyone"],
            }
        }
    )
    return identity_provider_create(
        actor=None,
        slug="corp",
        kind=IdentityProviderKind.OIDC,
        name="Corp SSO",
        issuer=oidc_idp.issuer,
        groups_claim="groups",
        config={
            "client_id": "eim",
            "client_secret": "eim-test-secret",
            "scopes": ["openid", "profile", "email", "groups"],
        },
    )


_FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.S)


def _idp_pages(browser: requests.Session, url: str, login: str) -> str:
    """Walk the IdP's own pages (login, then consent) as a person would; return the URL the
    IdP finally sends the browser to (our callback)."""
    for _ in range(12):
        response = browser.get(url, allow_redirects=False)
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith(RP):
                return url
            continue
        page = response.text
        action = urljoin(url, unescape(_FORM.search(page).group(1)))  # type: ignore[union-attr]
        fields = {"prompt": "consent"}
        if 'name="login"' in page:
            fields = {"prompt": "login", "login": login, "password": "any"}
        response = browser.post(action, data=fields, allow_redirects=False)
        url = urljoin(action, response.headers["Location"])
        if url.startswith(RP):
            return url
    raise AssertionError("the IdP never sent the browser back")


def oidc_authorize(client: Client, slug: str = "corp", next_url: str = "") -> str:
    """Press the provider's button on our sign-in page: the IdP URL we are sent to."""
    response = client.post(f"/accounts/oidc/{slug}/login/", {"next": next_url, "process": "login"})
    assert response.status_code == 302, response.content[:500]
    return str(response["Location"])


def oidc_callback_url(
    client: Client, login: str = "okta-0001", slug: str = "corp", next_url: str = ""
) -> str:
    browser = requests.Session()
    return _idp_pages(browser, oidc_authorize(client, slug, next_url), login)


def oidc_sign_in(
    client: Client, login: str = "okta-0001", slug: str = "corp", next_url: str = ""
) -> Any:
    callback = oidc_callback_url(client, login, slug, next_url)
    return client.get(callback.removeprefix(RP))
