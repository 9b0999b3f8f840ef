"""Reading history: selectors.messages_page and message_for_user, keyset-paginated by seq."""

import pytest

from eim.chat.errors import ChatError, ErrorCode
from eim.chat.selectors import message_for_user, messages_page
from eim.chat.services.conversations import membership_remove
from eim.chat.services.messages import message_delete
from tests.factories import ChannelFactory, chat_state, send

pytestmark = pytest.mark.django_db


def _bodies(page: dict) -> list[str]:
    return [m["body"] for m in page["results"]]


@pytest.fixture
def history(alice, bob):  # type: ignore[no-untyped-def]
    """A channel with five top-level messages m0..m4, in seq order."""
    channel = ChannelFactory(creator=alice, members=[bob])
    messages = [send(alice, channel, f"m{i}") for i in range(5)]
    return channel, messages


def test_the_latest_page_holds_the_newest_messages_oldest_first(alice, history):
    channel, _ = history

    page = messages_page(user=alice, conversation_id=channel.pk, limit=2)

    assert _bodies(page) == ["m3", "m4"]
    assert page["has_more"] is True


def test_before_walks_back_through_history(alice, history):
    channel, messages = history

    page = messages_page(user=alice, conversation_id=channel.pk, before=messages[3].seq, limit=2)
    oldest = messages_page(user=alice, conversation_id=channel.pk, before=messages[1].seq, limit=2)

    assert (_bodies(page), page["has_more"]) == (["m1", "m2"], True)
    assert (_bodies(oldest), oldest["has_more"]) == (["m0"], False)


def test_after_walks_forward(alice, history):
    channel, messages = history

    page = messages_page(user=alice, conversation_id=channel.pk, after=messages[0].seq, limit=2)
    tail = messages_page(user=alice, conversation_id=channel.pk, after=messages[2].seq, limit=2)

    assert (_bodies(page), page["has_more"]) == (["m1", "m2"], True)
    assert (_bodies(tail), tail["has_more"]) == (["m3", "m4"], False)


def test_a_page_that_holds_everything_has_no_more(alice, history):
    channel, _ = history

    page = messages_page(user=alice, conversation_id=channel.pk, limit=5)

    assert _bodies(page) == ["m0", "m1", "m2", "m3", "m4"]
    assert page["has_more"] is False


def test_walking_back_page_by_page_visits_every_message_once(alice, history):
    channel, _ = history
    newest = messages_page(user=alice, conversation_id=channel.pk, limit=2)
    middle = messages_page(
        user=alice, conversation_id=channel.pk, before=newest["results"][0]["seq"], limit=2
    )
    oldest = messages_page(
        user=alice, conversation_id=channel.pk, before=middle["results"][0]["seq"], limit=2
    )

    walked = _bodies(oldest) + _bodies(middle) + _bodies(newest)

    assert walked == ["m0", "m1", "m2", "m3", "m4"]
    assert [p["has_more"] for p in (newest, middle, oldest)] == [True, True, False]


def test_a_page_reports_the_conversation_last_seq(alice, history):
    channel, _ = history
    channel.refresh_from_db()

    page = messages_page(user=alice, conversation_id=channel.pk)

    assert (page["conversation"], page["last_seq"]) == (channel.pk, channel.last_seq)


def test_the_limit_is_clamped(alice, history):
    channel, _ = history

    page = messages_page(user=alice, conversation_id=channel.pk, limit=0)

    assert _bodies(page) == ["m4"]


def test_without_thread_a_page_holds_top_level_messages_with_reply_counts(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")
    send(bob, channel, "reply 1", parent_id=root.pk)
    gone = send(bob, channel, "reply 2", parent_id=root.pk)
    send(alice, channel, "next topic")
    message_delete(user=bob, message_id=gone.pk)

    page = messages_page(user=alice, conversation_id=channel.pk)

    assert _bodies(page) == ["root", "next topic"]
    assert [m["reply_count"] for m in page["results"]] == [1, 0]


def test_a_thread_page_holds_the_root_and_its_replies(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")
    other = send(alice, channel, "other root")
    reply = send(bob, channel, "reply", parent_id=root.pk)
    send(alice, channel, "nested", parent_id=reply.pk)
    send(bob, channel, "elsewhere", parent_id=other.pk)

    page = messages_page(user=alice, conversation_id=channel.pk, thread=root.pk)

    assert _bodies(page) == ["root", "reply", "nested"]
    assert [m["parent"] for m in page["results"]] == [None, root.pk, root.pk]


def test_a_thread_of_another_conversation_shows_nothing(alice):
    channel = ChannelFactory(creator=alice)
    elsewhere = ChannelFactory(creator=alice)
    root = send(alice, elsewhere, "root")

    page = messages_page(user=alice, conversation_id=channel.pk, thread=root.pk)

    assert page["results"] == []


def test_a_deleted_message_is_a_tombstone_in_history(alice, history):
    channel, messages = history

    message_delete(user=alice, message_id=messages[4].pk)
    page = messages_page(user=alice, conversation_id=channel.pk, limit=1)

    assert page["results"][0]["id"] == messages[4].pk
    assert page["results"][0]["deleted"] is True
    assert page["results"][0]["body"] == ""


@pytest.mark.parametrize(
    ("private", "code"),
    [(True, ErrorCode.NOT_FOUND), (False, ErrorCode.NOT_A_MEMBER)],
    ids=["private", "public"],
)
def test_a_non_member_reads_no_history(alice, carol, private, code):
    channel = ChannelFactory(creator=alice, private=private)
    send(alice, channel, "members only")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        messages_page(user=carol, conversation_id=channel.pk)

    assert refused.value.code == code
    assert chat_state() == before


def test_a_removed_member_reads_no_history(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob], private=True)
    send(alice, channel, "secret")
    membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        messages_page(user=bob, conversation_id=channel.pk)

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_a_single_message_is_for_members_only(alice, carol):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "hello")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_for_user(user=carol, message_id=message.pk)

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before
    assert message_for_user(user=alice, message_id=message.pk)["body"] == "hello"
