"""The sign-in page's provider buttons, and sign-out with the IdP's own logout offered."""

import re
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.test import Client

from accounts.services.identities import identity_provider_update

from .conftest import oidc_sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_each_enabled_provider_has_a_button_that_carries_next(corp):
    page = Client().get("/login/?next=/compliance/").content.decode()

    assert 'action="/accounts/oidc/corp/login/"' in page
    assert "Continue with Corp SSO" in page
    assert page.count('name="next" value="/compliance/"') == 2  # the button's and the form's


def test_the_page_lets_its_buttons_redirect_to_the_providers_only(corp, oidc_idp):
    response = Client().get("/login/")

    form_action = next(
        d for d in response["Content-Security-Policy"].split(";") if "form-action" in d
    )
    assert form_action.split() == ["form-action", "'self'", oidc_idp.issuer]


def test_an_offsite_next_is_dropped_from_the_page(corp):
    page = Client().get("/login/?next=https://evil.example/").content.decode()

    assert "evil.example" not in page


def test_a_disabled_provider_has_no_button_and_cannot_be_used(corp):
    identity_provider_update(actor=None, provider=corp, enabled=False)
    client = Client()

    page = client.get("/login/").content.decode()
    response = client.post("/accounts/oidc/corp/login/", {"process": "login"})

    assert "Continue with" not in page
    assert response.status_code == 404


def test_sign_out_ends_the_session_and_offers_the_providers_logout(corp, oidc_idp):
    client = Client()
    oidc_sign_in(client)

    response = client.post("/logout/")

    assert "_auth_user_id" not in client.session
    link = unescape(re.search(r'href="([^"]+end[^"]*)"', response.content.decode()).group(1))  # type: ignore[union-attr]
    query = parse_qs(urlparse(link).query)
    assert link.startswith(f"{oidc_idp.issuer}/session/end")
    assert query["client_id"] == ["eim"]
    assert query["post_logout_redirect_uri"] == ["http://testserver/login/"]
    # The provider accepts it: its own "sign out?" page, not an error.
    confirm = requests.get(link, timeout=10)
    assert confirm.status_code == 200
    assert "logout" in confirm.text.lower()


def test_a_local_sign_out_goes_back_to_the_sign_in_page(alice):
    client = Client()
    client.force_login(alice)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
