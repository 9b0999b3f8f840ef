"""Tokens made by command, the bearer check, and the discovery endpoints."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from accounts.scim.models import ScimToken
from audit.models import AuditEvent

from .conftest import ERROR, ScimClient, user_body

pytestmark = pytest.mark.django_db


def _command(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_scim_token_create_prints_the_token_last_and_stores_only_its_digest(okta_provider):
    output = _command("scim_token_create", "--name", "okta-prod", "--provider", "okta")

    secret = output.strip().splitlines()[-1]
    token = ScimToken.objects.get(name="okta-prod")
    assert secret.startswith("scim_")
    assert token.provider == okta_provider
    assert secret not in (token.digest, token.prefix)
    assert len(token.digest) == 64
    event = AuditEvent.objects.get(event_type="scim_token.created")
    assert event.details["name"] == "okta-prod"
    assert secret not in event.canonical
    response = Client().get("/scim/v2/ServiceProviderConfig", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_scim_token_create_without_a_name_makes_one_up(db):
    output = _command("scim_token_create")

    assert output.strip().splitlines()[-1].startswith("scim_")
    assert ScimToken.objects.count() == 1


def test_scim_token_create_refuses_an_unknown_provider_and_a_taken_name(db):
    _command("scim_token_create", "--name", "taken")

    with pytest.raises(CommandError, match="no identity provider"):
        _command("scim_token_create", "--provider", "nope")
    with pytest.raises(CommandError, match="exists already"):
        _command("scim_token_create", "--name", "taken")
    assert ScimToken.objects.count() == 1


def test_a_revoked_token_is_refused_and_changes_nothing(scim: ScimClient):
    output = _command("scim_token_revoke", "unbound")

    response = scim.post("/Users", user_body("after@example.com"))

    assert "revoked" in output
    assert response.status_code == 401
    assert response.json()["schemas"] == [ERROR]
    assert response["WWW-Authenticate"] == "Bearer"
    assert not User.objects.filter(username="after@example.com").exists()
    assert AuditEvent.objects.filter(event_type="scim_token.revoked").count() == 1


def test_scim_token_revoke_refuses_an_unknown_name(db):
    with pytest.raises(CommandError, match="no SCIM token"):
        _command("scim_token_revoke", "nope")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer scim_wrong", "Basic dXNlcjpwdw==", "Token scim_x"],
)
def test_requests_without_a_valid_bearer_token_are_refused_and_change_nothing(scim, header):
    client = Client()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    created = client.post(
        "/scim/v2/Users",
        data=user_body("mallory@example.com"),
        content_type="application/scim+json",
        **extra,
    )
    listed = client.get("/scim/v2/Users", **extra)

    assert created.status_code == listed.status_code == 401
    assert created.json() == {
        "schemas": [ERROR],
        "status": "401",
        "detail": "a valid SCIM bearer token is required",
    }
    assert not User.objects.filter(username="mallory@example.com").exists()


def test_an_api_token_of_the_rest_api_is_not_a_scim_token(scim, alice, token_for):
    response = Client().get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}")

    assert response.status_code == 401


def test_service_provider_config_says_what_is_supported(scim: ScimClient):
    body = scim.get("/ServiceProviderConfig").json()

    assert body["patch"] == {"supported": True}
    assert body["bulk"]["supported"] is False
    assert body["filter"] == {"supported": True, "maxResults": 200}
    assert body["etag"] == {"supported": True}
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert body["meta"]["location"] == "http://testserver/scim/v2/ServiceProviderConfig"


def test_resource_types_and_schemas_list_with_total_results(scim: ScimClient):
    types = scim.get("/ResourceTypes").json()
    found = scim.get("/Schemas").json()
    one = scim.get("/ResourceTypes/User").json()
    enterprise = scim.get(
        "/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ).json()

    assert types["totalResults"] == 2
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    assert one["schemaExtensions"][0]["schema"].endswith("enterprise:2.0:User")
    assert found["totalResults"] == 3
    assert "department" in {a["name"] for a in enterprise["attributes"]}
    assert scim.get("/Schemas/urn:nope").status_code == 404


def test_responses_are_scim_json(scim: ScimClient):
    response = scim.get("/ServiceProviderConfig")

    assert response["Content-Type"] == "application/scim+json"


def test_a_token_over_its_rate_is_refused_with_retry_after_and_nothing_changes(scim, settings):
    settings.EIM_SCIM_RATE = "3/60"
    for _ in range(3):
        assert scim.get("/Users").status_code == 200

    response = scim.post("/Users", user_body("late@example.com"))

    assert response.status_code == 429
    assert response.json()["schemas"] == [ERROR]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not User.objects.filter(username="late@example.com").exists()
