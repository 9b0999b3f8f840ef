"""API bearer tokens: `manage.py create_token`, knox digests, expiry, last use, revocation."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.authentication import user_from_bearer_header
from accounts.models import ApiTokenActivity
from accounts.services import api_token_revoke
from audit.models import AuditEvent, AuditEventType
from tests.conftest import api_as
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _create_token(username: str) -> str:
    out = io.StringIO()
    call_command("create_token", username, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_create_token_prints_the_token_as_its_last_line(alice):
    token = _create_token("alice")

    assert len(token) == 64
    assert " " not in token
    assert AuthToken.objects.filter(user=alice).count() == 1


def test_the_printed_token_authenticates_rest(alice):
    token = _create_token("alice")

    response = _bearer(token).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_only_a_digest_is_stored(alice):
    token = _create_token("alice")

    stored = AuthToken.objects.get(user=alice)
    columns = [str(v) for v in AuthToken.objects.values_list().get(pk=stored.pk)]

    assert stored.digest == hash_token(token)
    assert [value for value in columns if token in value] == []


def test_each_call_makes_a_new_token(alice):
    first, second = _create_token("alice"), _create_token("alice")

    assert first != second
    assert _bearer(first).get("/api/v1/me/").status_code == 200
    assert _bearer(second).get("/api/v1/me/").status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong", "Bearer " + "0" * 64, "Bearer", "Bearer a b"],
    ids=["short", "well-formed-but-unknown", "no-token", "two-tokens"],
)
def test_a_wrong_bearer_token_is_401(alice, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/me/")

    assert response.status_code == 401


def test_a_wrong_bearer_token_never_falls_back_to_the_session(alice):
    client = APIClient()
    client.force_login(alice)
    client.credentials(HTTP_AUTHORIZATION="Bearer " + "f" * 64)

    response = client.get("/api/v1/me/")

    assert response.status_code == 401


def test_a_token_of_a_deactivated_user_is_401(alice):
    token = _create_token("alice")
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    response = _bearer(token).get("/api/v1/me/")

    assert response.status_code == 401


def test_without_credentials_the_api_is_401_and_names_the_scheme(api):
    response = api.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


def test_a_session_login_also_authenticates_rest(alice):
    client = APIClient()
    client.force_login(alice)

    assert client.get("/api/v1/me/").json()["id"] == alice.pk


@pytest.mark.parametrize("username", ["nobody", "retired"])
def test_create_token_refuses_an_unknown_or_inactive_user(username):
    UserFactory(username="retired", is_active=False)

    with pytest.raises(CommandError):
        _create_token(username)

    assert AuthToken.objects.count() == 0


def test_a_token_acts_as_its_own_user_only(alice, bob):
    token = _create_token("bob")

    me = _bearer(token).get("/api/v1/me/").json()

    assert me["id"] == bob.pk
    assert api_as(alice).get("/api/v1/me/").json()["id"] == alice.pk


# --- the WebSocket handshake reads the same header -------------------------------------------


def test_the_handshake_header_names_the_tokens_user(alice):
    token = _create_token("alice")

    assert user_from_bearer_header(f"Bearer {token}".encode()) == alice


@pytest.mark.parametrize(
    "header",
    [None, b"", b"Bearer", b"Bearer " + b"0" * 64, b"Token abc", b"Basic YWxpY2U6cHc="],
    ids=["none", "empty", "no-token", "unknown-token", "other-prefix", "basic"],
)
def test_a_handshake_header_without_a_valid_token_names_nobody(alice, header):
    _create_token("alice")

    assert isinstance(user_from_bearer_header(header), AnonymousUser)


# --- expiry, last use, revocation ------------------------------------------------------------


def test_create_token_prints_when_the_token_expires(alice):
    out = io.StringIO()

    call_command("create_token", "alice", stdout=out)

    token = AuthToken.objects.get(user=alice)
    assert f"Expires: {token.expiry.isoformat()}" in out.getvalue().splitlines()
    assert abs(token.expiry - token.created - timedelta(days=90)) < timedelta(seconds=5)


def test_an_expired_token_is_refused_and_deleted(alice):
    token = _create_token("alice")
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))

    response = _bearer(token).get("/api/v1/me/")

    assert response.status_code == 401
    assert isinstance(user_from_bearer_header(f"Bearer {token}".encode()), AnonymousUser)
    assert not AuthToken.objects.filter(user=alice).exists()


def test_a_token_records_its_last_use_at_most_once_a_minute(alice):
    token = _create_token("alice")
    stored = AuthToken.objects.get(user=alice)
    assert not ApiTokenActivity.objects.filter(token=stored).exists()

    _bearer(token).get("/api/v1/me/")
    first = ApiTokenActivity.objects.get(token=stored).last_used_at
    _bearer(token).get("/api/v1/me/")
    unchanged = ApiTokenActivity.objects.get(token=stored).last_used_at
    ApiTokenActivity.objects.filter(token=stored).update(last_used_at=first - timedelta(minutes=2))
    _bearer(token).get("/api/v1/me/")
    refreshed = ApiTokenActivity.objects.get(token=stored).last_used_at

    assert unchanged == first
    assert refreshed > first


def test_a_revoked_token_is_refused_and_the_revocation_audited(alice):
    admin = UserFactory(username="ada")
    token = _create_token("alice")

    api_token_revoke(token=AuthToken.objects.get(user=alice), by=admin)

    assert _bearer(token).get("/api/v1/me/").status_code == 401
    event = AuditEvent.objects.get(event_type=AuditEventType.API_TOKEN_REVOKED)
    assert event.actor == admin
    assert event.details["user"] == alice.pk


def test_a_token_made_without_an_expiry_gets_one(alice):
    """knox's own admin form and manager let the expiry blank; no token lives for ever."""
    made, token = AuthToken.objects.create(user=alice, expiry=None)

    made.refresh_from_db()
    assert made.expiry is not None
    assert abs(made.expiry - timezone.now() - timedelta(days=90)) < timedelta(seconds=5)
    assert _bearer(token).get("/api/v1/me/").status_code == 200


def test_deleting_a_token_in_djangos_admin_is_an_audited_revocation(alice):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    admin = APIClient()
    admin.force_login(root)
    token = _create_token("alice")
    stored = AuthToken.objects.get(user=alice)

    listing = admin.get("/django-admin/knox/authtoken/")
    response = admin.post(f"/django-admin/knox/authtoken/{stored.pk}/delete/", {"post": "yes"})

    assert listing.status_code == 200
    assert response.status_code == 302
    assert _bearer(token).get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.get(event_type=AuditEventType.API_TOKEN_REVOKED).actor == root


def test_tokens_checked_together_are_each_judged_alone(alice, bob, carol):
    """A restart's handshakes check their tokens in one query: each secret gets its own answer,
    in order, and only the live ones record a use."""
    from accounts.services import user_deactivate
    from accounts.services.tokens import api_tokens_authenticate

    live, revoked, expired = _create_token("alice"), _create_token("alice"), _create_token("bob")
    of_the_deactivated = _create_token("carol")
    AuthToken.objects.get(digest=hash_token(revoked)).delete()
    AuthToken.objects.filter(digest=hash_token(expired)).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    user_deactivate(user=carol, by=None)
    secrets = [live, revoked, expired, "x" * 64, live, of_the_deactivated]

    found = api_tokens_authenticate(secrets=[s.encode() for s in secrets] + [b"\xff" * 64])

    assert [t.user_id if t else None for t in found] == [
        alice.pk,
        None,
        None,
        None,
        alice.pk,
        None,
        None,
    ]
    assert not AuthToken.objects.filter(user=bob).exists()  # the expired one, deleted
    assert list(ApiTokenActivity.objects.values_list("token__digest", flat=True)) == [
        hash_token(live)
    ]
