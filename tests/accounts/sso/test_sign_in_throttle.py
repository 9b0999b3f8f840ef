"""Every SSO sign-in endpoint is throttled per address (EIM_SSO_RATE): the provider's
redirect, the OIDC callback and the SAML ACS. A throttled request creates nothing and
consumes nothing: the same callback, once the window has passed, still signs in."""

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from accounts.models import ExternalIdentity, Group, User
from audit.models import AuditEvent
from tests.idp.saml import post_form

from .conftest import RP, oidc_authorize, oidc_callback_url
from .test_saml import Client as SamlClient
from .test_saml import _response_for, idp  # noqa: F401 - the SAML IdP fixture

pytestmark = pytest.mark.django_db


def _window_passes() -> None:
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    for key in client.scan_iter("*sso-rate:*"):
        client.delete(key)


def _state() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        ExternalIdentity.objects.count(),
        Group.objects.count(),
        AuditEvent.objects.count(),
    )


@override_settings(EIM_SSO_RATE="1/60")
def test_a_throttled_oidc_callback_creates_nothing_and_the_same_callback_works_later(corp):
    client = Client()
    callback = oidc_callback_url(client).removeprefix(RP)  # the button: 1 of 1
    before = _state()

    throttled = client.get(callback)

    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) >= 1
    assert "Too many sign-in attempts" in throttled.content.decode()
    assert _state() == before
    assert "_auth_user_id" not in client.session
    # Nothing was consumed: neither allauth's state in the session nor the code at the IdP.
    _window_passes()
    assert client.get(callback).status_code == 302
    assert "_auth_user_id" in client.session


@override_settings(EIM_SSO_RATE="2/60")
def test_the_provider_redirect_is_throttled_per_address(corp):
    oidc_authorize(Client(REMOTE_ADDR="10.0.0.7"))
    oidc_authorize(Client(REMOTE_ADDR="10.0.0.7"))

    third = Client(REMOTE_ADDR="10.0.0.7").post("/accounts/oidc/corp/login/", {"process": "login"})
    elsewhere = Client(REMOTE_ADDR="10.0.0.8").post(
        "/accounts/oidc/corp/login/", {"process": "login"}
    )

    assert third.status_code == 429
    assert elsewhere.status_code == 302


def test_a_throttled_saml_acs_creates_nothing(idp):  # noqa: F811
    client = SamlClient()
    xml = _response_for(idp, client)  # the button: 1 of 1
    before = _state()

    with override_settings(EIM_SSO_RATE="1/60"):
        throttled = client.post("/accounts/saml/acme/acs/", {"SAMLResponse": post_form(xml)})
        assert SamlClient().post("/accounts/saml/acme/login/", {}).status_code == 429

    assert throttled.status_code == 429
    assert _state() == before
    assert "_auth_user_id" not in client.session
