"""`manage.py seed_demo`: demo people, channels and messages, through the normal services."""

import io

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management import call_command

from accounts.models import Role, User
from accounts.selectors import user_roles
from accounts.services.roles import role_revoke
from audit.models import AuditEvent, AuditEventType
from eim.chat.models import Conversation, ConversationKind
from eim.chat.services.administration import conversation_ownership_transfer
from eim.chat.services.conversations import conversation_archive, membership_leave
from tests.factories import chat_state

pytestmark = pytest.mark.django_db


def _seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seeding_creates_people_channels_and_messages():
    _seed("--password", "demo-pass-1")

    general = Conversation.objects.get(name="general")
    desk = Conversation.objects.get(name="trading-desk")
    assert set(User.objects.values_list("username", flat=True)) == {
        "alice",
        "bob",
        "admin",
        "dana",
        "carol",
    }
    assert (general.kind, desk.kind) == (ConversationKind.PUBLIC, ConversationKind.PRIVATE)
    assert list(general.messages.order_by("seq").values_list("author__username", flat=True)) == [
        "alice",
        "bob",
        "alice",
    ]
    assert desk.messages.count() == 2
    assert Conversation.objects.filter(kind=ConversationKind.DIRECT).count() == 1
    assert sorted(general.memberships.values_list("user__username", flat=True)) == [
        "alice",
        "bob",
    ]


def test_seeding_twice_creates_nothing_new():
    _seed("--password", "demo-pass-1")
    before = chat_state()
    users = list(User.objects.order_by("pk").values_list("pk", "username", "password"))

    _seed("--password", "demo-pass-1")

    assert chat_state() == before
    assert list(User.objects.order_by("pk").values_list("pk", "username", "password")) == users


def test_the_environment_can_give_the_password(monkeypatch):
    monkeypatch.setenv("EIM_DEMO_PASSWORD", "from-env-pass-1")

    output = _seed()

    assert User.objects.get(username="bob").check_password("from-env-pass-1")
    assert "from-env-pass-1" in output.strip().splitlines()[-1]


def test_the_password_option_sets_every_demo_password():
    _seed("--password", "first-pass-1")

    _seed("--password", "second-pass-2")

    assert [u.check_password("second-pass-2") for u in User.objects.order_by("username")] == [
        True,
        True,
        True,
        True,
        True,
    ]


def test_the_demo_people_have_their_roles():
    _seed("--password", "demo-pass-1")

    roles = {u.username: user_roles(user=u) for u in User.objects.all()}

    assert roles == {
        "alice": {Role.EMPLOYEE},
        "bob": {Role.EMPLOYEE},
        "admin": {Role.ADMINISTRATOR},
        "dana": {Role.ADMINISTRATOR},
        "carol": {Role.COMPLIANCE_OFFICER},
    }
    assert User.objects.filter(is_superuser=True).count() == 0


def test_the_demo_roles_come_through_the_role_service_with_four_eyes():
    _seed("--password", "demo-pass-1")

    carol = User.objects.get(username="carol")
    grant = carol.roles.get(role=Role.COMPLIANCE_OFFICER)
    events = list(
        AuditEvent.objects.filter(event_type__startswith="role.")
        .order_by("pk")
        .values_list("event_type", "actor__username", "details__username")
    )

    assert (grant.request.requested_by.username, grant.granted_by.username) == ("admin", "dana")
    assert events == [
        (AuditEventType.ROLE_GRANTED, None, "admin"),
        (AuditEventType.ROLE_GRANTED, None, "dana"),
        (AuditEventType.ROLE_GRANTED, "admin", "alice"),
        (AuditEventType.ROLE_GRANTED, "admin", "bob"),
        (AuditEventType.ROLE_REQUESTED, "admin", "carol"),
        (AuditEventType.ROLE_APPROVED, "dana", "carol"),
    ]


def test_seeding_twice_grants_nothing_new():
    _seed("--password", "demo-pass-1")
    events = AuditEvent.objects.count()

    _seed("--password", "demo-pass-1")

    assert AuditEvent.objects.count() == events


def test_the_seeded_mention_resolves_to_a_member():
    _seed("--password", "demo-pass-1")

    thanks = Conversation.objects.get(name="general").messages.get(author__username="bob")

    assert list(thanks.mentions.values_list("username", flat=True)) == ["alice"]


def test_seeding_again_keeps_what_people_did_since():
    _seed("--password", "demo-pass-1")
    alice, bob, admin = (User.objects.get(username=n) for n in ("alice", "bob", "admin"))
    general = Conversation.objects.get(name="general")
    desk = Conversation.objects.get(name="trading-desk")
    # The last owner leaves only after handing over (docs/console.md, the membership rules).
    conversation_ownership_transfer(actor=alice, conversation_id=general.pk, user_id=bob.pk)
    membership_leave(user=alice, conversation_id=general.pk)
    conversation_archive(actor=alice, conversation_id=desk.pk)
    role_revoke(actor=admin, user_id=bob.pk, role=Role.EMPLOYEE, reason="left the desk")
    before = chat_state()

    _seed("--password", "demo-pass-1")

    desk.refresh_from_db()
    assert chat_state() == before
    assert not general.memberships.filter(user=alice).exists()
    assert desk.archived_at is not None
    assert Role.EMPLOYEE not in user_roles(user=bob)


def test_the_privileged_demo_people_have_totp_and_its_secret_is_printed():
    out = _seed("--password", "demo-pass-1")
    again = _seed("--password", "demo-pass-1")

    secret = out.split("Demo TOTP secret (admin, dana, carol): ")[1].split()[0]
    with_totp = Authenticator.objects.filter(type=Authenticator.Type.TOTP)
    assert sorted(with_totp.values_list("user__username", flat=True)) == ["admin", "carol", "dana"]
    assert f"Demo TOTP secret (admin, dana, carol): {secret}" in again


def test_demo_totp_prints_the_code_the_privileged_demo_people_sign_in_with():
    _seed("--password", "demo-pass-1")
    out = io.StringIO()

    call_command("demo_totp", stdout=out)

    code = out.getvalue().strip()
    admin = User.objects.get(username="admin")
    totp = TOTP(Authenticator.objects.get(user=admin, type=Authenticator.Type.TOTP))
    assert len(code) == 6
    assert totp.validate_code(code)
