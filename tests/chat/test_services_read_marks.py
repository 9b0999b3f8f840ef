"""Read markers and unread counts: read_mark and selectors.conversations_for_user."""

import pytest

from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import Conversation
from eim.chat.selectors import conversations_for_user
from eim.chat.services.conversations import membership_join
from eim.chat.services.messages import message_delete, read_mark
from tests.factories import ChannelFactory, chat_state, direct_conversation, send

pytestmark = pytest.mark.django_db


def _sidebar(user) -> dict[int, dict]:  # type: ignore[no-untyped-def]
    return {c["id"]: c for c in conversations_for_user(user=user)}


def _last_seq(conversation: Conversation) -> int:
    conversation.refresh_from_db()
    return conversation.last_seq


def test_messages_from_others_are_unread(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel, "one")
    send(alice, channel, "two")

    assert _sidebar(bob)[channel.pk]["unread"] == 2


def test_my_own_messages_are_never_unread(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel, "mine")
    send(bob, channel, "theirs")

    assert _sidebar(alice)[channel.pk]["unread"] == 1


def test_deleted_messages_are_not_unread(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    keep = send(alice, channel, "keep")
    gone = send(alice, channel, "gone")

    message_delete(user=alice, message_id=gone.pk)

    assert keep.pk != gone.pk
    assert _sidebar(bob)[channel.pk]["unread"] == 1


def test_thread_replies_are_not_unread_in_the_conversation(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")
    send(alice, channel, "reply", parent_id=root.pk)

    assert _sidebar(bob)[channel.pk]["unread"] == 1


def test_a_mention_in_a_thread_reply_counts_in_the_mention_badge(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob, carol])
    root = send(alice, channel, "root")
    send(bob, channel, "over to you @carol", parent_id=root.pk)
    send(bob, channel, "and a reply for nobody", parent_id=root.pk)
    gone = send(bob, channel, "@carol never mind", parent_id=root.pk)
    message_delete(user=bob, message_id=gone.pk)

    mine = _sidebar(carol)[channel.pk]
    assert (mine["unread"], mine["unread_mentions"]) == (1, 1)
    assert _sidebar(alice)[channel.pk]["unread_mentions"] == 0


def test_reading_past_a_thread_mention_clears_it(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(bob, channel, "root")
    reply = send(bob, channel, "ping @alice", parent_id=root.pk)

    read_mark(user=alice, conversation_id=channel.pk, seq=reply.seq)

    assert _sidebar(alice)[channel.pk]["unread_mentions"] == 0


def test_messages_before_i_joined_are_not_unread(alice, bob):
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "history")
    membership_join(user=bob, conversation_id=channel.pk)

    send(alice, channel, "after bob joined")

    assert _sidebar(bob)[channel.pk]["unread"] == 1


def test_reading_up_to_a_seq_clears_what_came_before(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    first = send(alice, channel, "one")
    send(alice, channel, "two")

    marker = read_mark(user=bob, conversation_id=channel.pk, seq=first.seq)

    assert marker == first.seq
    assert _sidebar(bob)[channel.pk]["unread"] == 1
    assert _sidebar(bob)[channel.pk]["last_read_seq"] == first.seq


def test_the_read_marker_never_moves_backwards(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel, "one")
    second = send(alice, channel, "two")
    read_mark(user=bob, conversation_id=channel.pk, seq=second.seq)

    marker = read_mark(user=bob, conversation_id=channel.pk, seq=1)

    assert marker == second.seq
    assert _sidebar(bob)[channel.pk]["unread"] == 0


def test_the_read_marker_cannot_pass_the_last_seq(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel, "one")

    marker = read_mark(user=bob, conversation_id=channel.pk, seq=10_000)
    later = send(alice, channel, "two")

    assert marker == later.seq - 1
    assert _sidebar(bob)[channel.pk]["unread"] == 1


def test_one_persons_read_marker_is_not_anothers(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob, carol])
    message = send(alice, channel, "one")

    read_mark(user=bob, conversation_id=channel.pk, seq=message.seq)

    assert _sidebar(bob)[channel.pk]["unread"] == 0
    assert _sidebar(carol)[channel.pk]["unread"] == 1


@pytest.mark.parametrize("seq", [-1, "3", 2.5, None, True], ids=repr)
def test_a_read_marker_that_is_not_a_seq_is_refused(alice, bob, seq):
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel, "one")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        read_mark(user=bob, conversation_id=channel.pk, seq=seq)

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


@pytest.mark.parametrize(
    ("private", "code"),
    [(True, ErrorCode.NOT_FOUND), (False, ErrorCode.NOT_A_MEMBER)],
    ids=["private", "public"],
)
def test_a_non_member_has_no_read_marker(alice, carol, private, code):
    channel = ChannelFactory(creator=alice, private=private)
    send(alice, channel, "one")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        read_mark(user=carol, conversation_id=channel.pk, seq=1)

    assert refused.value.code == code
    assert chat_state() == before


def test_the_sidebar_lists_only_my_conversations_with_their_last_seq(alice, bob, carol):
    mine = ChannelFactory(creator=alice, members=[bob])
    ChannelFactory(creator=carol, private=True)
    dm = direct_conversation(bob, alice)

    sidebar = _sidebar(bob)

    assert set(sidebar) == {mine.pk, dm.pk}
    assert sidebar[mine.pk]["last_seq"] == _last_seq(mine)
    assert sidebar[mine.pk]["role"] == "member"
    assert sidebar[dm.pk]["name"] == alice.shown_name
    assert [p["id"] for p in sidebar[dm.pk]["people"]] == [alice.pk]
