"""Password sign-in is throttled per username and address (django-axes)."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.django_db

RIGHT = "pw-for-tests-1"  # tests/factories.py


def _sign_in(user: User, password: str, *, address: str = "10.0.0.1", path: str = "/login/"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": user.username, "password": password})
    return response, client


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _fail(user: User, times: int, **kwargs) -> list[int]:
    return [_sign_in(user, "wrong", **kwargs)[0].status_code for _ in range(times)]


def test_after_the_limit_even_the_right_password_is_refused_with_a_plain_message(alice):
    failures = _fail(alice, settings.AXES_FAILURE_LIMIT)

    response, client = _sign_in(alice, RIGHT)

    # The form with its error each time, and the pause from the last wrong one on.
    assert failures == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert response.status_code == 429
    text = response.content.decode()
    assert "Sign-in paused" in text
    assert f"paused for {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in text
    assert not _signed_in(client)


def test_the_pause_holds_for_that_address_only(alice):
    _fail(alice, settings.AXES_FAILURE_LIMIT, address="10.0.0.1")

    response, client = _sign_in(alice, RIGHT, address="10.0.0.2")

    assert response.status_code == 302
    assert _signed_in(client)


def test_a_right_password_before_the_limit_starts_the_count_again(alice):
    _fail(alice, settings.AXES_FAILURE_LIMIT - 1)
    assert _signed_in(_sign_in(alice, RIGHT)[1])
    _fail(alice, settings.AXES_FAILURE_LIMIT - 1)

    response, client = _sign_in(alice, RIGHT)

    assert response.status_code == 302
    assert _signed_in(client)


def test_one_persons_failures_do_not_pause_another(alice, bob):
    _fail(alice, settings.AXES_FAILURE_LIMIT)

    response, client = _sign_in(bob, RIGHT)

    assert response.status_code == 302
    assert _signed_in(client)


def test_the_admin_sign_in_is_the_one_throttled_sign_in_page(alice):
    """Django's admin has no password form of its own any more: it sends people to /login/
    (allauth's flow: throttling and MFA), keeping where they were going."""
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    _fail(alice, settings.AXES_FAILURE_LIMIT)

    admin_form, admin_client = _sign_in(
        alice, RIGHT, path="/django-admin/login/?next=/django-admin/"
    )
    response, client = _sign_in(alice, RIGHT)

    assert admin_form.status_code == 302
    assert admin_form["Location"] == "/login/?next=/django-admin/"
    assert not _signed_in(admin_client)
    assert response.status_code == 429
    assert not _signed_in(client)
