"""Who could see an event: recorded with it, for delivery and for the archive."""

import pytest

from eim.chat.models import ConversationEvent
from eim.chat.services.messages import message_delete
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

pytestmark = pytest.mark.django_db


def test_a_channel_creation_is_seen_by_its_creator(alice):
    channel = ChannelFactory(creator=alice)

    created = ConversationEvent.objects.get(conversation=channel, type="conversation.created")

    assert created.audience == [alice.pk]


def test_a_direct_conversation_creation_is_seen_by_every_participant(alice, bob, carol):
    group = direct_conversation(alice, bob, carol)

    created = ConversationEvent.objects.get(conversation=group, type="conversation.created")

    assert created.audience == sorted([alice.pk, bob.pk, carol.pk])


def test_a_deleted_message_tombstone_names_no_mentions(alice):
    dave = UserFactory(username="dave")
    channel = ChannelFactory(creator=alice, members=[dave])
    message = send(alice, channel, "ping @dave")

    message_delete(user=alice, message_id=message.pk)

    tombstone = ConversationEvent.objects.get(conversation=channel, type="message.deleted")
    created = ConversationEvent.objects.get(conversation=channel, type="message.new")
    assert tombstone.payload["message"]["mentions"] == []
    assert tombstone.payload["message"]["body"] == ""
    assert created.payload["message"]["mentions"] == [dave.pk]
