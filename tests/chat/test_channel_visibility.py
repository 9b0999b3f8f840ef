"""A channel's purpose, and making a channel private or public: who may, what the members
keep, what the archive records, and that the information barriers still guard every join."""

import pytest

from accounts.models import Role
from accounts.workspace.services import workspace_settings_update
from audit.models import AuditEvent, AuditEventType
from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import Conversation, ConversationEvent, ConversationKind, Membership
from eim.chat.selectors import public_channels_to_join
from eim.chat.services.administration import conversation_visibility_set
from eim.chat.services.conversations import (
    conversation_archive,
    conversation_create_channel,
    conversation_update,
    membership_join,
)
from tests.chat.barriers.conftest import barrier_in_force, segment
from tests.factories import ChannelFactory, UserFactory, chat_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():  # type: ignore[no-untyped-def]
    return UserFactory(username="ada", roles=[Role.ADMINISTRATOR])


def _refused(code: ErrorCode, work) -> None:  # type: ignore[no-untyped-def]
    before, audit = chat_state(), AuditEvent.objects.count()
    with pytest.raises(ChatError) as refusal:
        work()
    assert refusal.value.code == code
    assert chat_state() == before
    assert AuditEvent.objects.count() == audit


def _kind(channel: Conversation) -> str:
    return Conversation.objects.get(pk=channel.pk).kind


def test_a_channel_has_a_purpose_beside_its_topic(alice):
    channel = conversation_create_channel(creator=alice, name="desk", purpose="FX execution")

    conversation_update(actor=alice, conversation_id=channel.pk, purpose="FX and rates")

    event = ConversationEvent.objects.filter(conversation=channel).latest("seq")
    assert event.payload["changes"] == ["purpose"]
    assert event.payload["details"]["purpose"] == "FX and rates"
    assert Conversation.objects.get(pk=channel.pk).purpose == "FX and rates"


def test_a_purpose_over_250_characters_or_from_a_plain_member_is_refused(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    _refused(
        ErrorCode.INVALID_INPUT,
        lambda: conversation_update(actor=alice, conversation_id=channel.pk, purpose="x" * 251),
    )
    _refused(
        ErrorCode.FORBIDDEN,
        lambda: conversation_update(actor=bob, conversation_id=channel.pk, purpose="mine now"),
    )


def test_an_owner_makes_a_public_channel_private_and_its_members_stay(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob], name="desk")

    conversation_visibility_set(actor=alice, conversation_id=channel.pk, private=True)

    assert _kind(channel) == ConversationKind.PRIVATE
    assert set(
        Membership.objects.filter(conversation=channel).values_list("user_id", flat=True)
    ) == {alice.pk, bob.pk}
    event = ConversationEvent.objects.filter(conversation=channel).latest("seq")
    assert event.payload["visibility"] == {"from": "public", "to": "private"}
    assert event.audience == sorted([alice.pk, bob.pk])
    assert "desk" not in [c["name"] for c in public_channels_to_join(user=carol)]
    _refused(ErrorCode.NOT_FOUND, lambda: membership_join(user=carol, conversation_id=channel.pk))
    # An owner's own change is a conversation event, not an administrator's: no audit entry.
    assert not AuditEvent.objects.filter(
        event_type=AuditEventType.CONVERSATION_VISIBILITY_CHANGED
    ).exists()


def test_a_private_channel_made_public_can_be_joined(alice, carol):
    channel = ChannelFactory(creator=alice, private=True, name="deal")

    conversation_visibility_set(actor=alice, conversation_id=channel.pk, private=False)
    membership_join(user=carol, conversation_id=channel.pk)

    assert Membership.objects.filter(conversation=channel, user=carol).exists()


def test_making_it_what_it_is_already_records_nothing(alice):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    conversation_visibility_set(actor=alice, conversation_id=channel.pk, private=False)

    assert chat_state() == before


def test_a_plain_member_an_outsider_and_a_direct_message_are_refused(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])
    hidden = ChannelFactory(creator=alice, private=True)

    _refused(
        ErrorCode.FORBIDDEN,
        lambda: conversation_visibility_set(actor=bob, conversation_id=channel.pk, private=True),
    )
    _refused(
        ErrorCode.NOT_A_MEMBER,
        lambda: conversation_visibility_set(actor=carol, conversation_id=channel.pk, private=True),
    )
    _refused(
        ErrorCode.NOT_FOUND,
        lambda: conversation_visibility_set(actor=carol, conversation_id=hidden.pk, private=False),
    )


def test_an_archived_channel_keeps_its_visibility(alice):
    channel = ChannelFactory(creator=alice)
    conversation_archive(actor=alice, conversation_id=channel.pk)

    _refused(
        ErrorCode.ARCHIVED,
        lambda: conversation_visibility_set(actor=alice, conversation_id=channel.pk, private=True),
    )


def test_when_the_workspace_leaves_it_to_administrators_owners_are_refused(alice, ada):
    workspace_settings_update(actor=ada, changes={"channel_visibility_change": "administrators"})
    channel = ChannelFactory(creator=alice)

    _refused(
        ErrorCode.FORBIDDEN,
        lambda: conversation_visibility_set(actor=alice, conversation_id=channel.pk, private=True),
    )

    conversation_visibility_set(actor=ada, conversation_id=channel.pk, private=True)
    assert _kind(channel) == ConversationKind.PRIVATE
    audit = AuditEvent.objects.get(event_type=AuditEventType.CONVERSATION_VISIBILITY_CHANGED)
    assert audit.actor_id == ada.pk
    assert audit.details["visibility"] == {"from": "public", "to": "private"}
    assert not Membership.objects.filter(conversation=channel, user=ada).exists()


def test_a_channel_made_public_still_refuses_a_barred_newcomer(ada):
    rita, tom = UserFactory(username="rita"), UserFactory(username="tom")
    barrier_in_force(ada, segment("Research", rita), segment("Trading", tom))
    channel = ChannelFactory(creator=rita, private=True)

    conversation_visibility_set(actor=rita, conversation_id=channel.pk, private=False)

    _refused(
        ErrorCode.INFORMATION_BARRIER, lambda: membership_join(user=tom, conversation_id=channel.pk)
    )
