"""People are deactivated, never deleted: the archive and every history refer to them.

A user deleted in Django's admin used to take their memberships with them, without member.left
events. Deletion is refused everywhere, and nothing changes.
"""

import pytest
from django.db import transaction
from django.test import Client

from accounts.models import User, UserDeletionRefused
from eim.chat.models import ConversationEvent, Membership
from tests.factories import ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db: None) -> User:
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def _admin(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _state(user: User) -> tuple[bool, int, int]:
    return (
        User.objects.filter(pk=user.pk).exists(),
        Membership.objects.filter(user=user).count(),
        ConversationEvent.objects.count(),
    )


def test_deleting_a_user_through_the_admin_is_refused_and_changes_nothing(root, alice, bob):
    ChannelFactory(creator=bob, members=[alice])
    before = _state(alice)
    admin = _admin(root)

    page = admin.get(f"/django-admin/accounts/user/{alice.pk}/delete/")
    post = admin.post(f"/django-admin/accounts/user/{alice.pk}/delete/", {"post": "yes"})
    action = admin.post(
        "/django-admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [alice.pk], "post": "yes"},
    )
    changelist = admin.get("/django-admin/accounts/user/")

    assert page.status_code == 403
    assert post.status_code == 403
    assert action.status_code in (200, 302)
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert "deactivate_users" in actions
    assert _state(alice) == before == (True, 1, before[2])


def test_deleting_a_user_in_code_is_refused_and_changes_nothing(alice, bob):
    ChannelFactory(creator=bob, members=[alice])
    before = _state(alice)

    with pytest.raises(UserDeletionRefused), transaction.atomic():
        alice.delete()
    with pytest.raises(UserDeletionRefused), transaction.atomic():
        User.objects.filter(pk=alice.pk).delete()

    assert _state(alice) == before
