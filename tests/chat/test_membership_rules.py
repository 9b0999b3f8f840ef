"""The membership rules the services enforce for every caller (socket, REST API, console):
a channel always keeps an owner, and an archived channel's members are frozen. Each refusal
changes nothing; the administrator's own paths obey the same rules and are audited."""

import pytest

from accounts.models import Role
from audit.models import AuditEvent, AuditEventType
from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import ConversationEvent, EventType, MemberRole, Membership
from eim.chat.services import administration
from eim.chat.services.conversations import (
    conversation_archive,
    membership_leave,
    membership_remove,
)
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, chat_state, direct_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():  # type: ignore[no-untyped-def]
    return UserFactory(username="ada", roles=[Role.ADMINISTRATOR])


def _role(channel, user):  # type: ignore[no-untyped-def]
    return Membership.objects.get(conversation=channel, user=user).role


def _refused(code: ErrorCode, work) -> None:  # type: ignore[no-untyped-def]
    before, audit = chat_state(), AuditEvent.objects.count()
    with pytest.raises(ChatError) as refusal:
        work()
    assert refusal.value.code == code
    assert chat_state() == before
    assert AuditEvent.objects.count() == audit


def test_the_last_owner_cannot_leave(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    _refused(ErrorCode.LAST_OWNER, lambda: membership_leave(user=alice, conversation_id=channel.pk))


def test_the_last_owner_cannot_leave_even_alone(alice):
    channel = ChannelFactory(creator=alice)

    _refused(ErrorCode.LAST_OWNER, lambda: membership_leave(user=alice, conversation_id=channel.pk))


def test_the_last_owner_cannot_remove_themselves(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    _refused(
        ErrorCode.LAST_OWNER,
        lambda: membership_remove(actor=alice, conversation_id=channel.pk, user_id=alice.pk),
    )


def test_an_owner_leaves_after_handing_ownership_over(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    administration.conversation_ownership_transfer(
        actor=alice, conversation_id=channel.pk, user_id=bob.pk
    )
    membership_leave(user=alice, conversation_id=channel.pk)

    assert list(Membership.objects.filter(conversation=channel).values_list("user", "role")) == [
        (bob.pk, MemberRole.OWNER)
    ]
    owners_event = ConversationEvent.objects.filter(
        conversation=channel, type=EventType.CONVERSATION_UPDATED
    ).get()
    assert owners_event.payload["owners"] == [bob.pk]
    assert not AuditEvent.objects.filter(
        event_type=AuditEventType.CONVERSATION_OWNERSHIP_TRANSFERRED
    ).exists()  # an owner's own hand-over is a chat event, not an administrative one


def test_a_plain_member_cannot_hand_ownership_over(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob, carol])

    _refused(
        ErrorCode.FORBIDDEN,
        lambda: administration.conversation_ownership_transfer(
            actor=bob, conversation_id=channel.pk, user_id=carol.pk
        ),
    )


def test_one_of_two_owners_may_leave(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    administration.conversation_ownership_transfer(
        actor=alice, conversation_id=channel.pk, user_id=bob.pk
    )
    # Two owners: alice stepped down, and is made an owner again beside bob.
    Membership.objects.filter(conversation=channel, user=alice).update(role=MemberRole.OWNER)

    membership_leave(user=alice, conversation_id=channel.pk)

    assert _role(channel, bob) == MemberRole.OWNER


def test_nobody_leaves_an_archived_channel(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    conversation_archive(actor=alice, conversation_id=channel.pk)

    _refused(ErrorCode.ARCHIVED, lambda: membership_leave(user=bob, conversation_id=channel.pk))


def test_nobody_is_removed_from_an_archived_channel(alice, bob, ada):
    channel = ChannelFactory(creator=alice, members=[bob])
    conversation_archive(actor=alice, conversation_id=channel.pk)

    _refused(
        ErrorCode.ARCHIVED,
        lambda: membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk),
    )
    _refused(
        ErrorCode.ARCHIVED,
        lambda: administration.conversation_member_remove_by_administrator(
            actor=ada, conversation_id=channel.pk, user_id=bob.pk
        ),
    )


def test_the_api_refuses_the_last_owners_leave_with_nothing_changed(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    before = chat_state()

    response = api_as(alice).post(f"/api/v1/conversations/{channel.pk}/leave/")

    assert (response.status_code, response.json()["code"]) == (409, "last_owner")
    assert chat_state() == before


def test_the_api_refuses_leaving_an_archived_channel_with_nothing_changed(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()

    left = api_as(bob).post(f"/api/v1/conversations/{channel.pk}/leave/")
    removed = api_as(alice).delete(f"/api/v1/conversations/{channel.pk}/members/{bob.pk}/")

    assert (left.status_code, left.json()["code"]) == (409, "archived")
    assert (removed.status_code, removed.json()["code"]) == (409, "archived")
    assert chat_state() == before


def test_an_administrator_adds_and_removes_members_audited(alice, bob, carol, ada):
    channel = ChannelFactory(creator=alice, members=[bob])

    added = administration.conversation_members_add_by_administrator(
        actor=ada, conversation_id=channel.pk, user_ids=[carol.pk, bob.pk]
    )
    administration.conversation_member_remove_by_administrator(
        actor=ada, conversation_id=channel.pk, user_id=bob.pk
    )

    assert [m.user_id for m in added] == [carol.pk]
    assert set(Membership.objects.filter(conversation=channel).values_list("user", flat=True)) == {
        alice.pk,
        carol.pk,
    }
    events = list(
        AuditEvent.objects.filter(event_type__startswith="conversation.")
        .order_by("seq")
        .values_list("event_type", "actor_id", "details")
    )
    assert events == [
        (
            "conversation.members_added",
            ada.pk,
            {"conversation_id": channel.pk, "name": channel.name, "user_ids": [carol.pk]},
        ),
        (
            "conversation.member_removed",
            ada.pk,
            {"conversation_id": channel.pk, "name": channel.name, "user_id": bob.pk},
        ),
    ]
    kinds = list(
        ConversationEvent.objects.filter(conversation=channel).order_by("seq").values_list("type")
    )
    assert kinds[-2:] == [(EventType.MEMBER_JOINED,), (EventType.MEMBER_LEFT,)]


def test_an_administrator_cannot_remove_the_last_owner(alice, bob, ada):
    channel = ChannelFactory(creator=alice, members=[bob])

    _refused(
        ErrorCode.LAST_OWNER,
        lambda: administration.conversation_member_remove_by_administrator(
            actor=ada, conversation_id=channel.pk, user_id=alice.pk
        ),
    )


def test_an_administrator_hands_every_owners_ownership_over(alice, bob, ada):
    channel = ChannelFactory(creator=alice, members=[bob])

    administration.conversation_ownership_transfer(
        actor=ada, conversation_id=channel.pk, user_id=bob.pk
    )

    assert (_role(channel, alice), _role(channel, bob)) == (MemberRole.MEMBER, MemberRole.OWNER)
    event = AuditEvent.objects.get(event_type=AuditEventType.CONVERSATION_OWNERSHIP_TRANSFERRED)
    assert event.details["previous_owners"] == [alice.pk]
    assert event.details["new_owner"] == bob.pk


def test_ownership_goes_only_to_an_active_member(alice, bob, carol, ada):
    channel = ChannelFactory(creator=alice, members=[bob])

    _refused(
        ErrorCode.INVALID_INPUT,
        lambda: administration.conversation_ownership_transfer(
            actor=ada, conversation_id=channel.pk, user_id=carol.pk
        ),
    )


def test_an_administrator_archives_and_unarchives(alice, ada):
    channel = ChannelFactory(creator=alice)

    administration.conversation_archive_by_administrator(actor=ada, conversation_id=channel.pk)
    channel.refresh_from_db()
    archived = channel.archived_at
    administration.conversation_unarchive_by_administrator(actor=ada, conversation_id=channel.pk)
    channel.refresh_from_db()

    assert archived is not None
    assert channel.archived_at is None
    assert list(
        AuditEvent.objects.filter(event_type__startswith="conversation.")
        .order_by("seq")
        .values_list("event_type", flat=True)
    ) == ["conversation.archived", "conversation.unarchived"]


def test_direct_messages_keep_their_people(alice, bob, carol, ada):
    dm = direct_conversation(alice, bob)

    _refused(
        ErrorCode.FORBIDDEN,
        lambda: administration.conversation_members_add_by_administrator(
            actor=ada, conversation_id=dm.pk, user_ids=[carol.pk]
        ),
    )


def test_only_an_administrator_uses_the_administrators_paths(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = UserFactory(username="root", is_superuser=True, roles=[])

    for actor in (alice, root):
        _refused(
            ErrorCode.FORBIDDEN,
            lambda actor=actor: administration.conversation_members_add_by_administrator(
                actor=actor, conversation_id=channel.pk, user_ids=[carol.pk]
            ),
        )
        _refused(
            ErrorCode.FORBIDDEN,
            lambda actor=actor: administration.conversation_archive_by_administrator(
                actor=actor, conversation_id=channel.pk
            ),
        )


def test_through_the_api_an_owner_hands_over_and_then_leaves(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    client = api_as(alice)

    handed = client.post(f"/api/v1/conversations/{channel.pk}/owner/", {"user": bob.pk})
    left = client.post(f"/api/v1/conversations/{channel.pk}/leave/")

    assert (handed.status_code, left.status_code) == (204, 204)
    assert _role(channel, bob) == MemberRole.OWNER


def test_through_the_api_a_plain_member_cannot_take_ownership(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    before = chat_state()

    response = api_as(bob).post(f"/api/v1/conversations/{channel.pk}/owner/", {"user": bob.pk})

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert chat_state() == before
