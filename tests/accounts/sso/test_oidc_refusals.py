"""Every way an OIDC sign-in must fail does, with nothing created and nobody signed in."""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from accounts.models import ExternalIdentity, Group, IdentityProvider, IdentityProviderKind, User
from accounts.services.identities import identity_provider_create

from .conftest import RP, oidc_authorize, oidc_callback_url
from .fake_oidc import Craft, FakeIssuer

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _nothing_created() -> bool:
    return not (
        User.objects.exists() or ExternalIdentity.objects.exists() or Group.objects.exists()
    )


@pytest.fixture
def fake() -> Iterator[FakeIssuer]:
    yield from FakeIssuer().serve()


@pytest.fixture
def fake_provider(db: None, fake: FakeIssuer) -> IdentityProvider:
    return identity_provider_create(
        actor=None,
        slug="alt",
        kind=IdentityProviderKind.OIDC,
        name="Alt",
        issuer=fake.issuer,
        config={"client_id": "fake-client", "client_secret": "s"},
    )


def _sign_in_with(fake: FakeIssuer, craft: Craft) -> tuple[Client, int]:
    client = Client()
    query = parse_qs(urlparse(oidc_authorize(client, "alt")).query)
    fake.id_token = craft(fake, query["nonce"][0])
    response = client.get(
        "/accounts/oidc/alt/login/callback/", {"code": "c", "state": query["state"][0]}
    )
    return client, response.status_code


def test_the_fake_issuer_signs_in_with_a_good_token(fake_provider, fake):
    client, status = _sign_in_with(fake, lambda f, nonce: f.signed(f.claims(nonce)))

    assert status == 302
    assert "_auth_user_id" in client.session


BAD_TOKENS: dict[str, Craft] = {
    "wrong nonce": lambda f, nonce: f.signed(f.claims("another-nonce")),
    "no nonce": lambda f, nonce: f.signed(f.claims(None)),
    "wrong aud": lambda f, nonce: f.signed(f.claims(nonce, aud="someone-else")),
    "several aud without azp": lambda f, nonce: f.signed(
        f.claims(nonce, aud=["fake-client", "someone-else"])
    ),
    "wrong iss": lambda f, nonce: f.signed(f.claims(nonce, iss="http://127.0.0.1:1")),
    "expired": lambda f, nonce: f.signed(
        f.claims(nonce, iat=f.claims(nonce)["iat"] - 900, exp=f.claims(nonce)["iat"] - 300)
    ),
    "issued long ago": lambda f, nonce: f.signed(
        f.claims(nonce, iat=f.claims(nonce)["iat"] - 3600, exp=f.claims(nonce)["iat"] + 60)
    ),
    "issued in the future": lambda f, nonce: f.signed(
        f.claims(nonce, iat=f.claims(nonce)["iat"] + 900)
    ),
    "no exp": lambda f, nonce: f.signed(f.claims(nonce, exp=None)),
    "alg none": lambda f, nonce: f.unsigned(f.claims(nonce)),
    "another key": lambda f, nonce: f.signed(f.claims(nonce), key=f.other_key),
    "unknown kid": lambda f, nonce: f.signed(f.claims(nonce), key=f.other_key, kid="key-x"),
    "HS256 keyed with the public key": lambda f, nonce: f.hs256_with_public_key(f.claims(nonce)),
    "not a JWT": lambda f, nonce: "not-a-token",
}


@pytest.mark.parametrize("craft", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_id_token_is_refused_with_nothing_created(fake_provider, fake, craft):
    client, status = _sign_in_with(fake, craft)

    assert fake.tokens_served == 1  # it got as far as the token, and the token was refused
    assert status in {400, 401, 403}
    assert "_auth_user_id" not in client.session
    assert _nothing_created()


def test_a_bad_state_is_refused_before_the_code_is_used(corp):
    client = Client()
    callback = oidc_callback_url(client)
    query = parse_qs(urlparse(callback).query)

    response = client.get(
        "/accounts/oidc/corp/login/callback/", {"code": query["code"][0], "state": "forged"}
    )

    assert response.status_code in {400, 401, 403}
    assert "_auth_user_id" not in client.session
    assert _nothing_created()


def test_a_callback_from_another_browser_is_refused(corp):
    callback = oidc_callback_url(Client())
    other = Client()

    response = other.get(callback.removeprefix(RP))

    assert response.status_code in {400, 401, 403}
    assert "_auth_user_id" not in other.session
    assert _nothing_created()


def test_a_replayed_code_is_refused_by_the_provider(corp):
    first = Client()
    callback = oidc_callback_url(first)
    assert first.get(callback.removeprefix(RP)).status_code == 302
    code = parse_qs(urlparse(callback).query)["code"][0]
    before = (User.objects.count(), ExternalIdentity.objects.count())
    client = Client()
    state = parse_qs(urlparse(oidc_authorize(client)).query)["state"][0]

    response = client.get("/accounts/oidc/corp/login/callback/", {"code": code, "state": state})

    assert response.status_code in {400, 401, 403}
    assert "_auth_user_id" not in client.session
    assert (User.objects.count(), ExternalIdentity.objects.count()) == before


def test_an_unreachable_provider_is_a_clear_page_not_an_error(db):
    identity_provider_create(
        actor=None,
        slug="down",
        kind=IdentityProviderKind.OIDC,
        name="Down",
        issuer="http://127.0.0.1:9",
        config={"client_id": "c", "client_secret": "s"},
    )

    response = Client().post("/accounts/oidc/down/login/", {"process": "login"})

    assert response.status_code == 502
    assert "cannot be reached" in response.content.decode()
