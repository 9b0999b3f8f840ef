"""Sending, editing and deleting messages through eim.chat.services.messages."""

import uuid

import pytest
from django.db import IntegrityError
from django.test import override_settings

from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import Conversation, ConversationEvent, EventType, Message
from eim.chat.services.conversations import (
    conversation_archive,
    membership_invite,
    membership_remove,
)
from eim.chat.services.messages import message_delete, message_edit, message_send
from tests.factories import (
    ChannelFactory,
    OutboxRowFactory,
    chat_state,
    direct_conversation,
    send,
    staged_attachment,
)

pytestmark = pytest.mark.django_db


def _events(conversation: Conversation) -> list[ConversationEvent]:
    return list(ConversationEvent.objects.filter(conversation=conversation).order_by("seq"))


# --- sending ---------------------------------------------------------------------------------


def test_send_writes_the_message_and_exactly_one_message_new_event(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    before = ConversationEvent.objects.filter(conversation=channel).count()

    result = message_send(
        author=alice, conversation_id=channel.pk, body="Q3 numbers", client_id=uuid.uuid4()
    )

    new_events = _events(channel)[before:]
    assert result.created is True
    assert [e.type for e in new_events] == [EventType.MESSAGE_NEW]
    assert new_events[0].seq == result.message.seq
    assert new_events[0].actor_id == alice.pk
    assert new_events[0].payload["message"]["id"] == result.message.pk
    assert new_events[0].payload["message"]["body"] == "Q3 numbers"
    assert result.payload == new_events[0].payload["message"]


def test_event_seq_is_gapless_and_increasing_across_every_kind_of_change(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])
    first = send(alice, channel, "one")
    membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[carol.pk])
    send(bob, channel, "two")
    message_edit(user=alice, message_id=first.pk, body="one, edited")
    message_delete(user=alice, message_id=first.pk)

    seqs = [e.seq for e in _events(channel)]
    channel.refresh_from_db()

    assert seqs == list(range(1, len(seqs) + 1))
    assert channel.last_seq == seqs[-1]


def test_seq_counts_per_conversation(alice, bob):
    general = ChannelFactory(creator=alice)
    random = ChannelFactory(creator=alice)
    dm = direct_conversation(alice, bob)

    messages = [send(alice, general), send(alice, random), send(alice, dm), send(alice, general)]

    assert [m.seq for m in messages] == [3, 3, 4, 4]


def test_the_audience_of_a_message_is_the_members_at_that_moment(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])

    send(alice, channel, "before carol")
    membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[carol.pk])
    send(alice, channel, "after carol")

    audiences = [e.audience for e in _events(channel) if e.type == EventType.MESSAGE_NEW]
    assert audiences == [sorted([alice.pk, bob.pk]), sorted([alice.pk, bob.pk, carol.pk])]


def test_a_failed_write_leaves_no_message_no_event_and_no_gap(alice):
    channel = ChannelFactory(creator=alice)
    OutboxRowFactory(conversation=channel)  # a conflicting writer took the next seq
    before = chat_state()

    with pytest.raises(IntegrityError):
        send(alice, channel, "lost?")

    assert chat_state() == before


def test_sending_the_same_client_id_twice_creates_one_message(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    client_id = uuid.uuid4()

    first = message_send(author=alice, conversation_id=channel.pk, body="hi", client_id=client_id)
    events_after_first = chat_state()["events"]
    second = message_send(author=alice, conversation_id=channel.pk, body="hi", client_id=client_id)

    assert (first.created, second.created) == (True, False)
    assert second.message.pk == first.message.pk
    assert second.payload == first.payload
    assert Message.objects.filter(client_id=client_id).count() == 1
    assert chat_state()["events"] == events_after_first


def test_a_repeat_is_acknowledged_with_the_first_message_even_if_its_body_differs(alice):
    channel = ChannelFactory(creator=alice)
    client_id = uuid.uuid4()
    message_send(author=alice, conversation_id=channel.pk, body="first", client_id=client_id)

    repeat = message_send(
        author=alice, conversation_id=channel.pk, body="second", client_id=client_id
    )

    assert repeat.created is False
    assert repeat.payload["body"] == "first"


def test_two_people_may_use_the_same_client_id(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    client_id = uuid.uuid4()

    mine = message_send(author=alice, conversation_id=channel.pk, body="a", client_id=client_id)
    theirs = message_send(author=bob, conversation_id=channel.pk, body="b", client_id=client_id)

    assert theirs.created is True
    assert theirs.message.pk != mine.message.pk


def test_a_client_id_reused_in_another_conversation_is_a_conflict(alice):
    general = ChannelFactory(creator=alice)
    random = ChannelFactory(creator=alice)
    client_id = uuid.uuid4()
    message_send(author=alice, conversation_id=general.pk, body="here", client_id=client_id)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_send(author=alice, conversation_id=random.pk, body="there", client_id=client_id)

    assert refused.value.code == ErrorCode.CLIENT_ID_CONFLICT
    assert chat_state() == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", ErrorCode.EMPTY_BODY),
        ("   \n\t ", ErrorCode.EMPTY_BODY),
        ("x" * 10_001, ErrorCode.BODY_TOO_LONG),
        (None, ErrorCode.INVALID_INPUT),
        (42, ErrorCode.INVALID_INPUT),
    ],
    ids=["empty", "whitespace", "over-10000", "none", "number"],
)
def test_an_unacceptable_body_is_refused_and_nothing_is_written(alice, body, code):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_send(author=alice, conversation_id=channel.pk, body=body, client_id=uuid.uuid4())

    assert refused.value.code == code
    assert refused.value.detail
    assert chat_state() == before


def test_a_body_of_exactly_the_limit_is_accepted(alice):
    channel = ChannelFactory(creator=alice)

    result = message_send(
        author=alice, conversation_id=channel.pk, body="x" * 10_000, client_id=uuid.uuid4()
    )

    assert len(result.message.body) == 10_000


def test_a_client_id_that_is_not_a_uuid_is_refused(alice):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_send(author=alice, conversation_id=channel.pk, body="hi", client_id="nope")

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


@override_settings(EIM_SEND_RATE="3/86400")
def test_sending_over_the_rate_is_refused_with_a_retry_after_and_nothing_written(alice):
    channel = ChannelFactory(creator=alice)
    for _ in range(3):
        send(alice, channel)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(alice, channel, "one too many")

    assert refused.value.code == ErrorCode.RATE_LIMITED
    assert 0 < refused.value.retry_after <= 86400
    assert chat_state() == before


@override_settings(EIM_SEND_RATE="1/86400")
def test_the_rate_limit_is_per_user(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel)

    result = send(bob, channel, "my own budget")

    assert result.body == "my own budget"


@override_settings(EIM_SEND_RATE="1/86400")
def test_a_retried_send_is_acknowledged_even_when_over_the_rate(alice):
    channel = ChannelFactory(creator=alice)
    client_id = uuid.uuid4()
    first = message_send(author=alice, conversation_id=channel.pk, body="hi", client_id=client_id)

    retry = message_send(author=alice, conversation_id=channel.pk, body="hi", client_id=client_id)

    assert retry.created is False
    assert retry.message.pk == first.message.pk


@override_settings(EIM_EDIT_RATE="2/86400")
def test_editing_over_the_rate_is_refused_and_writes_no_version(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "draft")
    for n in range(2):
        message_edit(user=alice, message_id=message.pk, body=f"draft {n}")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_edit(user=alice, message_id=message.pk, body="one edit too many")

    assert refused.value.code == ErrorCode.RATE_LIMITED
    assert "too many edits" in refused.value.detail
    assert 0 < refused.value.retry_after <= 86400
    assert chat_state() == before


@override_settings(EIM_EDIT_RATE="1/86400")
def test_the_edit_rate_is_per_user_and_apart_from_sending(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    mine, theirs = send(alice, channel, "a"), send(bob, channel, "b")
    message_edit(user=alice, message_id=mine.pk, body="a2")

    edited = message_edit(user=bob, message_id=theirs.pk, body="b2")
    sent = send(alice, channel, "sending is counted apart")

    assert edited.body == "b2"
    assert sent.body == "sending is counted apart"


# --- threads and mentions --------------------------------------------------------------------


def test_a_reply_belongs_to_its_root(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")

    reply = send(bob, channel, "reply", parent_id=root.pk)

    assert reply.parent_id == root.pk


def test_a_reply_to_a_reply_joins_the_root_thread(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")
    reply = send(bob, channel, "reply", parent_id=root.pk)

    nested = send(alice, channel, "reply to the reply", parent_id=reply.pk)

    assert nested.parent_id == root.pk


def test_a_reply_to_a_message_of_another_conversation_is_refused(alice):
    general = ChannelFactory(creator=alice)
    random = ChannelFactory(creator=alice)
    elsewhere = send(alice, random, "elsewhere")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(alice, general, "reply", parent_id=elsewhere.pk)

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_mentions_resolve_only_to_members(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])

    message = send(alice, channel, "@bob and @carol and @nobody, look")

    assert list(message.mentions.values_list("pk", flat=True)) == [bob.pk]
    event = _events(channel)[-1]
    assert event.payload["message"]["mentions"] == [bob.pk]
    assert 'data-user="bob"' in event.payload["message"]["html"]
    assert 'data-user="carol"' not in event.payload["message"]["html"]


def test_a_mention_at_the_end_of_a_sentence_resolves(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    message = send(alice, channel, "Over to you, @bob.")

    assert list(message.mentions.values_list("pk", flat=True)) == [bob.pk]


def test_a_mention_inside_code_is_not_a_mention(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    message = send(alice, channel, "type `@bob` to mention someone")

    assert message.mentions.count() == 0


def test_edit_updates_mentions(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob, carol])
    message = send(alice, channel, "@bob")

    message_edit(user=alice, message_id=message.pk, body="@carol")

    assert list(message.mentions.values_list("pk", flat=True)) == [carol.pk]


# --- who may send ----------------------------------------------------------------------------


def test_sending_into_an_archived_channel_is_refused(alice):
    channel = ChannelFactory(creator=alice)
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(alice, channel, "anyone?")

    assert refused.value.code == ErrorCode.ARCHIVED
    assert chat_state() == before


@pytest.mark.parametrize(
    ("private", "code"),
    [(True, ErrorCode.NOT_FOUND), (False, ErrorCode.NOT_A_MEMBER)],
    ids=["private", "public"],
)
def test_a_non_member_cannot_send(alice, carol, private, code):
    channel = ChannelFactory(creator=alice, private=private)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(carol, channel, "let me in")

    assert refused.value.code == code
    assert chat_state() == before


def test_a_removed_member_cannot_send(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(bob, channel, "still here?")

    assert refused.value.code == ErrorCode.NOT_A_MEMBER
    assert chat_state() == before


def test_a_non_member_cannot_send_into_a_direct_conversation(alice, bob, carol):
    dm = direct_conversation(alice, bob)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(carol, dm, "psst")

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_sending_into_a_conversation_that_does_not_exist_is_refused(alice):
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_send(author=alice, conversation_id=987654, body="hello?", client_id=uuid.uuid4())

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


@override_settings(EIM_SEND_RATE="1/86400")
def test_a_refused_send_does_not_use_the_senders_rate(alice, carol):
    closed = ChannelFactory(creator=alice)
    conversation_archive(actor=alice, conversation_id=closed.pk)
    elsewhere = ChannelFactory(creator=alice, members=[carol])
    with pytest.raises(ChatError) as archived:
        send(alice, closed, "anyone?")
    with pytest.raises(ChatError) as not_a_member:
        send(carol, ChannelFactory(creator=alice), "let me in")

    sent = [send(alice, elsewhere, "my one message"), send(carol, elsewhere, "and mine")]

    assert (archived.value.code, not_a_member.value.code) == (
        ErrorCode.ARCHIVED,
        ErrorCode.NOT_A_MEMBER,
    )
    assert [m.body for m in sent] == ["my one message", "and mine"]


def test_a_repeat_after_the_channel_was_archived_is_acknowledged_not_refused(alice):
    channel = ChannelFactory(creator=alice)
    client_id = uuid.uuid4()
    first = message_send(author=alice, conversation_id=channel.pk, body="hi", client_id=client_id)
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()

    retry = message_send(author=alice, conversation_id=channel.pk, body="hi", client_id=client_id)

    assert (retry.created, retry.message.pk) == (False, first.message.pk)
    assert chat_state() == before


def test_a_removed_member_repeating_a_send_is_refused_not_shown_the_message(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    client_id = uuid.uuid4()
    message_send(author=bob, conversation_id=channel.pk, body="hi", client_id=client_id)
    membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_send(author=bob, conversation_id=channel.pk, body="hi", client_id=client_id)

    assert refused.value.code == ErrorCode.NOT_A_MEMBER
    assert chat_state() == before


# --- attachments on send ---------------------------------------------------------------------


def test_sending_with_an_attachment_records_message_new_then_attachment_added(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel)

    result = send(alice, channel, "", attachment_ids=[upload.pk])

    types = [(e.type, e.seq) for e in _events(channel)][-2:]
    upload.refresh_from_db()
    assert types == [
        (EventType.MESSAGE_NEW, result.seq),
        (EventType.ATTACHMENT_ADDED, result.seq + 1),
    ]
    assert upload.message_id == result.pk


def test_a_retried_send_with_an_attachment_is_acknowledged_and_writes_nothing(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel)
    the_send = {
        "author": alice,
        "conversation_id": channel.pk,
        "body": "the report",
        "client_id": uuid.uuid4(),
        "attachment_ids": [upload.pk],
    }
    first = message_send(**the_send)
    before = chat_state()

    retry = message_send(**the_send)

    assert (retry.created, retry.message.pk) == (False, first.message.pk)
    assert [a["id"] for a in retry.payload["attachments"]] == [upload.pk]
    assert chat_state() == before


def test_someone_elses_staged_upload_cannot_be_attached(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(bob, channel, "mine now", attachment_ids=[upload.pk])

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


def test_an_attachment_cannot_be_sent_twice(alice):
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel)
    send(alice, channel, "first", attachment_ids=[upload.pk])
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(alice, channel, "again", attachment_ids=[upload.pk])

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


def test_an_upload_staged_in_another_conversation_cannot_be_attached(alice):
    general = ChannelFactory(creator=alice)
    random = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, random)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(alice, general, "cross-posting", attachment_ids=[upload.pk])

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


# --- editing and deleting --------------------------------------------------------------------


def test_edit_records_the_new_version_and_keeps_the_first_event_as_it_was(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "draft")
    original = _events(channel)[-1]

    message_edit(user=alice, message_id=message.pk, body="final")

    edited = _events(channel)[-1]
    original_after = ConversationEvent.objects.get(pk=original.pk)
    message.refresh_from_db()
    assert edited.type == EventType.MESSAGE_EDITED
    assert edited.payload["message"]["body"] == "final"
    assert edited.payload["message"]["edited_at"] == message.edited_at.isoformat()
    assert edited.audience == sorted([alice.pk, bob.pk])
    assert original_after.payload == original.payload
    assert original_after.payload["message"]["body"] == "draft"
    assert message.body == "final"


def test_delete_records_a_tombstone_and_keeps_the_first_event_as_it_was(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "regrettable")
    original = _events(channel)[-1]

    message_delete(user=alice, message_id=message.pk)

    deleted = _events(channel)[-1]
    tombstone = deleted.payload["message"]
    assert deleted.type == EventType.MESSAGE_DELETED
    assert (tombstone["id"], tombstone["deleted"]) == (message.pk, True)
    assert (tombstone["body"], tombstone["html"], tombstone["attachments"]) == ("", "", [])
    assert ConversationEvent.objects.get(pk=original.pk).payload == original.payload


def test_delete_keeps_the_message_row_for_the_archive(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "kept")

    message_delete(user=alice, message_id=message.pk)

    message.refresh_from_db()
    assert message.deleted_at is not None
    assert message.body == "kept"


def test_a_tombstone_of_a_message_with_an_attachment_drops_the_attachment(alice):
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel)
    message = send(alice, channel, "see file", attachment_ids=[upload.pk])

    message_delete(user=alice, message_id=message.pk)

    assert _events(channel)[-1].payload["message"]["attachments"] == []


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_only_the_author_may_change_a_message(alice, bob, change):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(bob, channel, "bob's words")
    before = chat_state()
    actions = {
        "edit": lambda: message_edit(user=alice, message_id=message.pk, body="alice's words"),
        "delete": lambda: message_delete(user=alice, message_id=message.pk),
    }

    with pytest.raises(ChatError) as refused:
        actions[change]()

    assert refused.value.code == ErrorCode.FORBIDDEN
    assert chat_state() == before


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_a_non_member_cannot_change_a_message(alice, carol, change):
    channel = ChannelFactory(creator=alice, private=True)
    message = send(alice, channel, "private words")
    before = chat_state()
    actions = {
        "edit": lambda: message_edit(user=carol, message_id=message.pk, body="defaced"),
        "delete": lambda: message_delete(user=carol, message_id=message.pk),
    }

    with pytest.raises(ChatError) as refused:
        actions[change]()

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_a_deleted_message_cannot_be_changed_again(alice, change):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "gone")
    message_delete(user=alice, message_id=message.pk)
    before = chat_state()
    actions = {
        "edit": lambda: message_edit(user=alice, message_id=message.pk, body="back"),
        "delete": lambda: message_delete(user=alice, message_id=message.pk),
    }

    with pytest.raises(ChatError) as refused:
        actions[change]()

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


@pytest.mark.parametrize(
    ("body", "code"),
    [("   ", ErrorCode.EMPTY_BODY), ("y" * 10_001, ErrorCode.BODY_TOO_LONG)],
    ids=["empty", "too-long"],
)
def test_an_edit_with_an_unacceptable_body_is_refused(alice, body, code):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "fine")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_edit(user=alice, message_id=message.pk, body=body)

    assert refused.value.code == code
    assert chat_state() == before


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_messages_of_an_archived_channel_cannot_be_changed(alice, change):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "on the record")
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()
    actions = {
        "edit": lambda: message_edit(user=alice, message_id=message.pk, body="off the record"),
        "delete": lambda: message_delete(user=alice, message_id=message.pk),
    }

    with pytest.raises(ChatError) as refused:
        actions[change]()

    assert refused.value.code == ErrorCode.ARCHIVED
    assert chat_state() == before
