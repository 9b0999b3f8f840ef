"""A new password ends the user's API tokens and other sessions, whichever way it is set."""

import pytest
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from knox.models import AuthToken

from accounts.models import Role, User
from accounts.services import api_token_create, user_password_set
from audit.models import AuditEvent, AuditEventType
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "correct-horse-battery-staple-9"


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _bearer_status(token: str) -> int:
    return Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_setting_a_password_ends_tokens_and_sessions_and_is_audited(alice):
    browser = _signed_in(alice)
    token = api_token_create(user=alice)

    user_password_set(user=alice, password=NEW_PASSWORD, by=alice)

    assert _bearer_status(token) == 401
    assert browser.get("/api/v1/me/").status_code == 401
    assert not AuthToken.objects.filter(user=alice).exists()
    event = AuditEvent.objects.get(event_type=AuditEventType.USER_PASSWORD_CHANGED)
    assert (event.actor, event.details) == (alice, {"user": alice.pk, "username": "alice"})
    assert User.objects.get(pk=alice.pk).check_password(NEW_PASSWORD)


def test_a_password_the_validators_refuse_changes_nothing(alice):
    browser = _signed_in(alice)
    token = api_token_create(user=alice)
    stored = User.objects.get(pk=alice.pk).password

    with pytest.raises(ValidationError):
        user_password_set(user=alice, password="alice", by=alice)

    assert User.objects.get(pk=alice.pk).password == stored
    assert _bearer_status(token) == 200
    assert browser.get("/api/v1/me/").status_code == 200
    assert not AuditEvent.objects.filter(event_type=AuditEventType.USER_PASSWORD_CHANGED).exists()


def test_only_an_administrator_sets_someone_elses_password(alice, bob):
    token = api_token_create(user=alice)
    stored = User.objects.get(pk=alice.pk).password

    with pytest.raises(PermissionDenied):
        user_password_set(user=alice, password=NEW_PASSWORD, by=bob)

    assert User.objects.get(pk=alice.pk).password == stored
    assert _bearer_status(token) == 200


def test_set_password_and_save_outside_the_service_ends_tokens_too(alice):
    browser = _signed_in(alice)
    token = api_token_create(user=alice)

    alice.set_password(NEW_PASSWORD)
    alice.save()

    assert _bearer_status(token) == 401
    assert browser.get("/api/v1/me/").status_code == 401


def test_djangos_admin_password_form_ends_the_users_tokens_and_sessions(alice):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    admin = _signed_in(root)
    browser = _signed_in(alice)
    token = api_token_create(user=alice)

    response = admin.post(
        f"/django-admin/accounts/user/{alice.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert _bearer_status(token) == 401
    assert browser.get("/api/v1/me/").status_code == 401
    assert admin.get("/api/v1/me/").status_code == 200


def test_an_unrelated_change_to_the_user_keeps_tokens_and_sessions(alice):
    browser = _signed_in(alice)
    token = api_token_create(user=alice)

    alice.display_name = "Alice A."
    alice.save()

    assert _bearer_status(token) == 200
    assert browser.get("/api/v1/me/").status_code == 200


def test_a_rehash_of_the_same_password_at_sign_in_keeps_tokens(alice):
    """Django re-hashes a correct password when its hasher's settings change (no set_password:
    only the hash is saved)."""
    token = api_token_create(user=alice)

    alice.password = make_password("pw-for-tests-1")
    alice.save(update_fields=["password"])

    assert _bearer_status(token) == 200


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.COMPLIANCE_OFFICER, Role.AUDITOR])
def test_nobody_sets_a_privileged_persons_password_for_them(role):
    administrator = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    holder = UserFactory(username="held", roles=[role])
    token = api_token_create(user=holder)
    stored = User.objects.get(pk=holder.pk).password

    with pytest.raises(PermissionDenied):
        user_password_set(user=holder, password=NEW_PASSWORD, by=administrator)

    assert User.objects.get(pk=holder.pk).password == stored
    assert _bearer_status(token) == 200
    assert not AuditEvent.objects.filter(event_type=AuditEventType.USER_PASSWORD_CHANGED).exists()


def test_a_superuser_cannot_take_over_an_administrator_through_the_admin_password_form():
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    second = UserFactory(username="dana", roles=[Role.ADMINISTRATOR])
    stored = User.objects.get(pk=second.pk).password

    response = _signed_in(root).post(
        f"/django-admin/accounts/user/{second.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 403
    assert User.objects.get(pk=second.pk).password == stored


def test_a_privileged_person_still_sets_their_own_password_in_the_admin():
    ada = UserFactory(username="ada", roles=[Role.ADMINISTRATOR], is_staff=True, is_superuser=True)

    response = _signed_in(ada).post(
        f"/django-admin/accounts/user/{ada.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert User.objects.get(pk=ada.pk).check_password(NEW_PASSWORD)
