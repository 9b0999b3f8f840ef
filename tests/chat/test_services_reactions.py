"""Reactions: idempotent add and remove, members only."""

import pytest
from django.test import override_settings

from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import ConversationEvent, EventType, Reaction
from eim.chat.selectors import message_for_user
from eim.chat.services.conversations import conversation_archive, membership_remove
from eim.chat.services.messages import message_delete, reaction_add, reaction_remove
from tests.factories import ChannelFactory, chat_state, send

pytestmark = pytest.mark.django_db


def _reaction_events() -> list[tuple[str, dict, list[int]]]:
    rows = ConversationEvent.objects.filter(
        type__in=[EventType.REACTION_ADDED, EventType.REACTION_REMOVED]
    ).order_by("pk")
    return [(e.type, e.payload, e.audience) for e in rows]


def test_adding_a_reaction_records_it_once(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "lunch?")

    first = reaction_add(user=bob, message_id=message.pk, emoji="👍")
    second = reaction_add(user=bob, message_id=message.pk, emoji="👍")

    assert (first, second) == (True, False)
    assert Reaction.objects.filter(message=message).count() == 1
    assert _reaction_events() == [
        (
            EventType.REACTION_ADDED,
            {
                "message_id": message.pk,
                "emoji": "👍",
                "user": {"id": bob.pk, "username": "bob", "name": bob.shown_name},
            },
            sorted([alice.pk, bob.pk]),
        )
    ]


def test_removing_a_reaction_records_it_once(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "lunch?")
    reaction_add(user=bob, message_id=message.pk, emoji="👍")

    first = reaction_remove(user=bob, message_id=message.pk, emoji="👍")
    second = reaction_remove(user=bob, message_id=message.pk, emoji="👍")

    assert (first, second) == (True, False)
    assert Reaction.objects.filter(message=message).count() == 0
    assert [t for t, _, _ in _reaction_events()] == [
        EventType.REACTION_ADDED,
        EventType.REACTION_REMOVED,
    ]


def test_removing_a_reaction_never_added_records_nothing(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "hi")
    before = chat_state()

    removed = reaction_remove(user=alice, message_id=message.pk, emoji="🎉")

    assert removed is False
    assert chat_state() == before


def test_reactions_are_grouped_by_emoji_in_the_message(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "ship it")

    reaction_add(user=alice, message_id=message.pk, emoji="🚀")
    reaction_add(user=bob, message_id=message.pk, emoji="🚀")
    reaction_add(user=bob, message_id=message.pk, emoji="👀")

    assert message_for_user(user=alice, message_id=message.pk)["reactions"] == [
        {"emoji": "🚀", "users": [alice.pk, bob.pk]},
        {"emoji": "👀", "users": [bob.pk]},
    ]


def test_removing_my_reaction_leaves_theirs(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "ship it")
    reaction_add(user=alice, message_id=message.pk, emoji="🚀")
    reaction_add(user=bob, message_id=message.pk, emoji="🚀")

    reaction_remove(user=alice, message_id=message.pk, emoji="🚀")

    assert message_for_user(user=bob, message_id=message.pk)["reactions"] == [
        {"emoji": "🚀", "users": [bob.pk]}
    ]


@pytest.mark.parametrize("private", [True, False], ids=["private", "public"])
@pytest.mark.parametrize("action", [reaction_add, reaction_remove], ids=["add", "remove"])
def test_a_non_member_cannot_react(alice, bob, carol, private, action):
    channel = ChannelFactory(creator=alice, members=[bob], private=private)
    message = send(alice, channel, "members only")
    reaction_add(user=bob, message_id=message.pk, emoji="👍")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        action(user=carol, message_id=message.pk, emoji="👍")

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_a_removed_member_cannot_react(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "hi")
    membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        reaction_add(user=bob, message_id=message.pk, emoji="👋")

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_a_deleted_message_takes_no_reactions(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "oops")
    message_delete(user=alice, message_id=message.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        reaction_add(user=bob, message_id=message.pk, emoji="😬")

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_an_archived_channel_takes_no_reactions(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "final word")
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        reaction_add(user=alice, message_id=message.pk, emoji="👍")

    assert refused.value.code == ErrorCode.ARCHIVED
    assert chat_state() == before


@pytest.mark.parametrize(
    "emoji", ["", " ", "a b", "<script>", "x" * 33, "&amp;", None, 7], ids=repr
)
def test_a_reaction_that_is_not_an_emoji_or_short_name_is_refused(alice, emoji):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "hi")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        reaction_add(user=alice, message_id=message.pk, emoji=emoji)

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


@override_settings(EIM_REACTION_RATE="2/86400")
def test_reacting_over_the_rate_is_refused_and_records_nothing(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "lunch?")
    reaction_add(user=bob, message_id=message.pk, emoji="🍕")
    reaction_remove(user=bob, message_id=message.pk, emoji="🍕")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        reaction_add(user=bob, message_id=message.pk, emoji="🍕")

    assert refused.value.code == ErrorCode.RATE_LIMITED
    assert "too many reactions" in refused.value.detail
    assert chat_state() == before
