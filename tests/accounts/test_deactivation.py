"""Deactivation ends everything at once: sessions, API tokens, and (after the commit) sockets."""

import asyncio
import io

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client
from knox.models import AuthToken

from accounts.models import Role, User
from accounts.services import (
    api_token_create,
    user_deactivate,
    user_reactivate,
    user_sign_out_everywhere,
)
from audit.models import AuditEvent, AuditEventType
from eim.chat.services.events import user_group
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def administrator(db: None) -> User:
    return UserFactory(username="ada", roles=[Role.ADMINISTRATOR])


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _heard_by_sockets_of(user: User, action) -> dict:  # type: ignore[no-untyped-def]
    """What a channel in the user's group on the real layer hears after `action`: what each
    of their sockets hears."""

    async def listen() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(user_group(user.pk), channel)
        await sync_to_async(action)()
        return await asyncio.wait_for(layer.receive(channel), 5)

    return asyncio.run(listen())


def test_deactivation_ends_sessions_tokens_and_tells_the_sockets(alice, administrator):
    browser = _signed_in(alice)
    token = api_token_create(user=alice)
    changed = []

    heard = _heard_by_sockets_of(
        alice, lambda: changed.append(user_deactivate(user=alice, by=administrator))
    )

    alice.refresh_from_db()
    assert changed == [True]
    assert alice.is_active is False
    assert AuthToken.objects.filter(user=alice).count() == 0
    assert browser.get("/api/v1/me/").status_code == 401
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert heard == {"type": "access.changed", "change": "deactivated"}
    event = AuditEvent.objects.get(event_type=AuditEventType.USER_DEACTIVATED)
    assert event.actor == administrator
    assert event.details == {"user": alice.pk, "username": "alice"}


def test_a_reactivated_user_s_old_sessions_stay_ended(alice, administrator):
    browser = _signed_in(alice)
    user_deactivate(user=alice, by=administrator)

    alice.refresh_from_db()
    alice.is_active = True
    alice.save()

    assert browser.get("/api/v1/me/").status_code == 401
    assert _signed_in(alice).get("/api/v1/me/").status_code == 200


def test_reactivation_through_the_service_is_audited_and_old_sessions_stay_ended(
    alice, administrator
):
    browser = _signed_in(alice)
    user_deactivate(user=alice, by=administrator)

    assert user_reactivate(user=alice, by=administrator) is True
    assert user_reactivate(user=alice, by=administrator) is False

    assert browser.get("/api/v1/me/").status_code == 401
    assert _signed_in(alice).get("/api/v1/me/").status_code == 200
    (event,) = AuditEvent.objects.filter(event_type=AuditEventType.USER_REACTIVATED)
    assert (event.actor, event.details) == (administrator, {"user": alice.pk, "username": "alice"})


def test_sign_out_everywhere_ends_every_session_keeps_tokens_and_tells_the_sockets(
    alice, administrator
):
    browsers = [_signed_in(alice), _signed_in(alice)]
    token = api_token_create(user=alice)

    heard = _heard_by_sockets_of(
        alice, lambda: user_sign_out_everywhere(user=alice, by=administrator)
    )

    assert [b.get("/api/v1/me/").status_code for b in browsers] == [401, 401]
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert heard == {"type": "access.changed", "change": "sessions_ended"}
    assert AuditEvent.objects.filter(event_type=AuditEventType.USER_SIGNED_OUT_EVERYWHERE).count()


def test_only_an_administrator_reactivates_or_signs_out_others(alice, bob, administrator):
    user_deactivate(user=alice, by=administrator)
    before = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied):
        user_reactivate(user=alice, by=bob)
    with pytest.raises(PermissionDenied):
        user_sign_out_everywhere(user=administrator, by=bob)

    alice.refresh_from_db()
    assert alice.is_active is False
    assert AuditEvent.objects.count() == before


def test_deactivating_an_inactive_user_changes_nothing(alice, administrator):
    user_deactivate(user=alice, by=administrator)

    again = user_deactivate(user=alice, by=administrator)

    assert again is False
    assert AuditEvent.objects.filter(event_type=AuditEventType.USER_DEACTIVATED).count() == 1


@pytest.mark.parametrize("who", ["employee", "self", "inactive administrator"])
def test_deactivation_by_anyone_but_another_active_administrator_is_refused(
    alice, bob, administrator, who
):
    by = {"employee": bob, "self": alice, "inactive administrator": administrator}[who]
    if who == "self":
        alice.roles.create(role=Role.ADMINISTRATOR)
    if who == "inactive administrator":
        User.objects.filter(pk=administrator.pk).update(is_active=False)
        administrator.refresh_from_db()
    browser = _signed_in(alice)
    api_token_create(user=alice)
    events_before = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied):
        user_deactivate(user=alice, by=by)

    alice.refresh_from_db()
    assert alice.is_active is True
    assert AuthToken.objects.filter(user=alice).count() == 1
    assert browser.get("/api/v1/me/").status_code == 200
    assert AuditEvent.objects.count() == events_before


def test_the_command_deactivates_through_the_service(alice, administrator):
    api_token_create(user=alice)
    out = io.StringIO()

    call_command("user_deactivate", "alice", "--by", "ada", stdout=out)

    alice.refresh_from_db()
    assert alice.is_active is False
    assert AuthToken.objects.filter(user=alice).count() == 0
    assert "alice is deactivated" in out.getvalue()
    assert AuditEvent.objects.get(event_type=AuditEventType.USER_DEACTIVATED).actor == administrator


def test_the_command_without_by_is_the_operator(alice):
    call_command("user_deactivate", "alice", stdout=io.StringIO())

    assert AuditEvent.objects.get(event_type=AuditEventType.USER_DEACTIVATED).actor is None


@pytest.mark.parametrize(
    ("args", "message"),
    [(["nobody"], "no user named 'nobody'"), (["alice", "--by", "bob"], "administrator")],
    ids=["unknown-user", "not-an-administrator"],
)
def test_the_command_refuses_clearly_and_changes_nothing(alice, bob, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("user_deactivate", *args, stdout=io.StringIO())

    assert User.objects.filter(is_active=False).count() == 0
    assert AuditEvent.objects.count() == 0


def test_unticking_active_in_djangos_admin_is_a_deactivation(alice):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    admin = _signed_in(root)
    token = api_token_create(user=alice)
    form = admin.get(f"/django-admin/accounts/user/{alice.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "is_active"}
    data.update(
        {
            "roles-TOTAL_FORMS": "0",
            "roles-INITIAL_FORMS": "0",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "groups": [],
            "user_permissions": [],
        }
    )

    response = admin.post(f"/django-admin/accounts/user/{alice.pk}/change/", data)

    alice.refresh_from_db()
    assert response.status_code == 302, response.content[:2000]
    assert alice.is_active is False
    assert not AuthToken.objects.filter(user=alice).exists()
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert AuditEvent.objects.get(event_type=AuditEventType.USER_DEACTIVATED).actor == root
