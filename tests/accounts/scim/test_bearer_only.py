"""/scim/ is reached by bearer token only, through its own short middleware chain
(accounts/scim/middleware.py), and a token this process has seen is checked against its row
on every request (accounts/scim/services/tokens.py)."""

from auditlog.models import LogEntry
from django.test import Client
from django.utils import timezone

from accounts.models import ExternalIdentity, IdentityProvider, User
from accounts.scim.models import ScimToken
from accounts.scim.services.tokens import scim_token_revoke
from audit.models import AuditEvent
from tests.factories import UserFactory

from .conftest import ERROR, ScimClient, user_body


def test_a_token_revoked_after_use_is_refused_on_the_very_next_request(scim: ScimClient):
    assert scim.get("/Users").status_code == 200  # the token is now known to this process

    scim_token_revoke(token=scim.token)
    response = scim.post("/Users", user_body("after@example.com"))

    assert response.status_code == 401
    assert response.json()["schemas"] == [ERROR]
    assert not User.objects.filter(username="after@example.com").exists()


def test_a_token_revoked_by_another_process_is_refused_on_the_very_next_request(
    scim: ScimClient,
):
    assert scim.get("/Users").status_code == 200

    # As another server (or the console's process) does it: nothing tells this process.
    ScimToken.objects.filter(pk=scim.token.pk).update(revoked_at=timezone.now())
    response = scim.post("/Users", user_body("after@example.com"))

    assert response.status_code == 401
    assert not User.objects.filter(username="after@example.com").exists()


def test_a_renamed_token_is_audited_under_its_new_name_at_once(scim: ScimClient):
    assert scim.post("/Users", user_body("first@example.com")).status_code == 201

    ScimToken.objects.filter(pk=scim.token.pk).update(name="renamed")
    created = scim.post("/Users", user_body("second@example.com"))

    assert created.status_code == 201
    event = AuditEvent.objects.filter(
        event_type="user.created", details__username="second@example.com"
    ).get()
    assert event.details["via"] == "scim:renamed"


def test_a_changed_provider_is_used_on_the_next_request(
    okta: ScimClient, okta_provider: IdentityProvider
):
    assert okta.post("/Users", user_body("a@example.com", externalId="00ua")).status_code == 201

    IdentityProvider.objects.filter(pk=okta_provider.pk).update(issuer="https://moved.okta.example")
    created = okta.post("/Users", user_body("b@example.com", externalId="00ub"))

    assert created.status_code == 201
    assert ExternalIdentity.objects.get(subject="00ub").issuer == "https://moved.okta.example"
    assert ExternalIdentity.objects.get(subject="00ua").issuer == "https://example.okta.com"


def test_a_signed_in_session_alone_cannot_use_scim(scim: ScimClient):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    browser = Client()
    browser.force_login(admin)

    listed = browser.get("/scim/v2/Users")
    created = browser.post(
        "/scim/v2/Users", data=user_body("cookie@example.com"), content_type="application/json"
    )

    assert listed.status_code == created.status_code == 401
    assert created.json()["detail"] == "a valid SCIM bearer token is required"
    assert not User.objects.filter(username="cookie@example.com").exists()


def test_a_change_over_scim_is_never_attributed_to_a_signed_in_browser_user(scim: ScimClient):
    alice = UserFactory(username="alice")
    scim.client.force_login(alice)

    created = scim.post("/Users", user_body("new@example.com"), **{"X-Forwarded-For": ""})

    assert created.status_code == 201
    assert "Set-Cookie" not in created.headers
    entry = LogEntry.objects.get(object_pk=created.json()["id"], action=LogEntry.Action.CREATE)
    assert entry.actor is None
    assert entry.remote_addr == "127.0.0.1"


def test_scim_answers_keep_the_security_headers_and_set_no_cookie(scim: ScimClient):
    response = scim.get("/Users")

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.get("Vary", "")


def test_scim_answers_carry_the_sites_content_security_policy(scim: ScimClient):
    page = Client().get("/healthz")

    answers = [scim.get("/Users"), scim.post("/Users", "not json"), scim.get("/Nothing")]

    assert "default-src 'self'" in page["Content-Security-Policy"]
    assert [a["Content-Security-Policy"] for a in answers] == [page["Content-Security-Policy"]] * 3


def test_a_report_only_policy_reaches_scim_answers_too(scim: ScimClient, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    client = ScimClient(scim.token, scim.secret, Client())  # a new chain reads the settings

    response = client.get("/Users")

    assert response["Content-Security-Policy-Report-Only"] == "default-src 'none'"
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_an_unknown_scim_path_is_not_found(scim: ScimClient):
    assert scim.get("/Nothing/here/at/all").status_code == 404
