"""The /compliance/ page: who gets it, and the configuration it hands its scripts."""

import pytest
from django.test import Client

from accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def page_as(user):
    client = Client()
    client.force_login(user)
    return client.get("/compliance/")


def test_a_compliance_officer_gets_the_workspace_with_its_api_routes_and_a_strict_csp():
    response = page_as(UserFactory(roles=[Role.COMPLIANCE_OFFICER]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-search-url="/api/v1/compliance/search"' in html
    assert 'data-versions-url="/api/v1/compliance/messages/{id}/versions"' in html
    assert 'data-exposure-url="/api/v1/compliance/messages/{id}/exposure"' in html
    assert 'data-context-url="/api/v1/compliance/records/{id}/context"' in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in html
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "roles",
    [[Role.EMPLOYEE], [Role.ADMINISTRATOR], [Role.AUDITOR]],
    ids=["employee", "administrator", "auditor"],
)
def test_anyone_else_gets_a_plain_403_page(roles):
    response = page_as(UserFactory(roles=roles))

    assert response.status_code == 403
    assert "for compliance officers" in response.content.decode()
    assert "data-search-url" not in response.content.decode()


def test_a_superuser_without_the_role_is_refused_too():
    response = page_as(UserFactory(is_superuser=True, is_staff=True))

    assert response.status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in():
    response = Client().get("/compliance/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
