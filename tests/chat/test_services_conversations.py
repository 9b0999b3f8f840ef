"""Creating conversations and changing who is in them: eim.chat.services.conversations."""

import pytest

from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import (
    Conversation,
    ConversationEvent,
    ConversationKind,
    EventType,
    MemberRole,
    Membership,
)
from eim.chat.services.conversations import (
    conversation_archive,
    conversation_create_channel,
    conversation_open_direct,
    conversation_update,
    membership_invite,
    membership_join,
    membership_leave,
    membership_remove,
)
from eim.chat.services.messages import reaction_add
from tests.factories import ChannelFactory, UserFactory, chat_state, direct_conversation, send

pytestmark = pytest.mark.django_db


def _events(conversation: Conversation) -> list[tuple[str, list[int], dict]]:
    rows = ConversationEvent.objects.filter(conversation=conversation).order_by("seq")
    return [(e.type, e.audience, e.payload) for e in rows]


def _members(conversation: Conversation) -> dict[int, str]:
    rows = Membership.objects.filter(conversation=conversation)
    return dict(rows.values_list("user_id", "role"))


# --- channels --------------------------------------------------------------------------------


def test_creating_a_channel_makes_the_creator_its_owner(alice):
    channel = conversation_create_channel(creator=alice, name="trading-desk", topic="Desk")

    assert (channel.kind, channel.name, channel.topic) == (
        ConversationKind.PUBLIC,
        "trading-desk",
        "Desk",
    )
    assert _members(channel) == {alice.pk: MemberRole.OWNER}
    assert [t for t, _, _ in _events(channel)] == [
        EventType.CONVERSATION_CREATED,
        EventType.MEMBER_JOINED,
    ]
    assert _events(channel)[1][1] == [alice.pk]
    assert _events(channel)[0][2]["details"]["name"] == "trading-desk"
    assert _events(channel)[1][2]["role"] == MemberRole.OWNER


def test_a_private_channel_is_private(alice):
    channel = conversation_create_channel(creator=alice, name="deals", private=True)

    assert channel.kind == ConversationKind.PRIVATE


def test_a_channel_name_is_normalised(alice):
    channel = conversation_create_channel(creator=alice, name="  #Trading-Desk ")

    assert channel.name == "trading-desk"


@pytest.mark.parametrize(
    "name", ["", "   ", "#", "has space", "semi;colon", "<b>", "x" * 81], ids=repr
)
def test_a_bad_channel_name_is_refused(alice, name):
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_create_channel(creator=alice, name=name)

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


def test_a_topic_over_250_characters_is_refused(alice):
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_create_channel(creator=alice, name="wordy", topic="t" * 251)

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_a_duplicate_channel_name_is_already_exists(alice, bob, private):
    conversation_create_channel(creator=alice, name="general")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_create_channel(creator=bob, name="General", private=private)

    assert refused.value.code == ErrorCode.ALREADY_EXISTS
    assert chat_state() == before


# --- direct and group conversations ----------------------------------------------------------


def test_opening_a_direct_conversation_twice_gives_the_same_one(alice, bob):
    first = conversation_open_direct(creator=alice, user_ids=[bob.pk])
    events = chat_state()["events"]

    again = conversation_open_direct(creator=bob, user_ids=[alice.pk])

    assert again.pk == first.pk
    assert first.kind == ConversationKind.DIRECT
    assert chat_state()["events"] == events
    assert _members(first) == {alice.pk: MemberRole.MEMBER, bob.pk: MemberRole.MEMBER}


def test_a_direct_conversation_records_one_set_of_events(alice, bob):
    dm = conversation_open_direct(creator=alice, user_ids=[bob.pk, bob.pk])

    assert [t for t, _, _ in _events(dm)] == [
        EventType.CONVERSATION_CREATED,
        EventType.MEMBER_JOINED,
        EventType.MEMBER_JOINED,
    ]


def test_a_group_conversation_is_the_same_for_the_same_people_in_any_order(alice, bob, carol):
    first = conversation_open_direct(creator=alice, user_ids=[bob.pk, carol.pk])

    again = conversation_open_direct(creator=carol, user_ids=[bob.pk, alice.pk])

    assert again.pk == first.pk
    assert first.kind == ConversationKind.GROUP
    assert set(_members(first)) == {alice.pk, bob.pk, carol.pk}


def test_a_group_of_other_people_is_another_conversation(alice, bob, carol):
    pair = conversation_open_direct(creator=alice, user_ids=[bob.pk])

    trio = conversation_open_direct(creator=alice, user_ids=[bob.pk, carol.pk])

    assert trio.pk != pair.pk


def test_a_direct_conversation_with_an_inactive_or_unknown_user_is_refused(alice):
    gone = UserFactory(username="gone", is_active=False)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_open_direct(creator=alice, user_ids=[gone.pk, 999_999])

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


def test_a_group_of_more_than_nine_people_is_refused(alice):
    others = [UserFactory() for _ in range(9)]
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_open_direct(creator=alice, user_ids=[u.pk for u in others])

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


@pytest.mark.parametrize(
    "change",
    [
        lambda dm, alice, carol: membership_invite(
            actor=alice, conversation_id=dm.pk, user_ids=[carol.pk]
        ),
        lambda dm, alice, carol: membership_leave(user=alice, conversation_id=dm.pk),
        lambda dm, alice, carol: conversation_update(actor=alice, conversation_id=dm.pk, topic="x"),
        lambda dm, alice, carol: conversation_archive(actor=alice, conversation_id=dm.pk),
    ],
    ids=["invite", "leave", "update", "archive"],
)
def test_the_people_of_a_direct_conversation_are_fixed(alice, bob, carol, change):
    dm = direct_conversation(alice, bob)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        change(dm, alice, carol)

    assert refused.value.code == ErrorCode.FORBIDDEN
    assert chat_state() == before


# --- joining ---------------------------------------------------------------------------------


def test_joining_a_public_channel_records_member_joined_for_everyone_including_the_joiner(
    alice, bob
):
    channel = ChannelFactory(creator=alice)

    membership = membership_join(user=bob, conversation_id=channel.pk)

    kind, audience, payload = _events(channel)[-1]
    channel.refresh_from_db()
    assert (kind, audience) == (EventType.MEMBER_JOINED, sorted([alice.pk, bob.pk]))
    assert payload == {
        "user": {"id": bob.pk, "username": "bob", "name": bob.shown_name},
        "role": MemberRole.MEMBER,
        "history_from_seq": 1,
    }
    assert membership.joined_seq == channel.last_seq
    assert membership.last_read_seq == channel.last_seq


def test_joining_twice_records_one_event(alice, bob):
    channel = ChannelFactory(creator=alice)
    membership_join(user=bob, conversation_id=channel.pk)
    before = chat_state()

    membership_join(user=bob, conversation_id=channel.pk)

    assert chat_state() == before


def test_a_private_channel_cannot_be_joined_and_is_not_found(alice, carol):
    channel = ChannelFactory(creator=alice, private=True)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_join(user=carol, conversation_id=channel.pk)

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_a_direct_conversation_cannot_be_joined(alice, bob, carol):
    dm = direct_conversation(alice, bob)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_join(user=carol, conversation_id=dm.pk)

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_an_archived_channel_cannot_be_joined(alice, bob):
    channel = ChannelFactory(creator=alice)
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_join(user=bob, conversation_id=channel.pk)

    assert refused.value.code == ErrorCode.ARCHIVED
    assert chat_state() == before


# --- inviting --------------------------------------------------------------------------------


def test_an_owner_invites_into_a_private_channel(alice, bob, carol):
    channel = ChannelFactory(creator=alice, private=True)

    added = membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[carol.pk, bob.pk])

    assert [m.user_id for m in added] == sorted([bob.pk, carol.pk])
    assert [(t, a) for t, a, _ in _events(channel)][-2:] == [
        (EventType.MEMBER_JOINED, sorted([alice.pk, min(bob.pk, carol.pk)])),
        (EventType.MEMBER_JOINED, sorted([alice.pk, bob.pk, carol.pk])),
    ]


def test_any_member_invites_into_a_public_channel(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])

    membership_invite(actor=bob, conversation_id=channel.pk, user_ids=[carol.pk])

    assert _members(channel)[carol.pk] == MemberRole.MEMBER
    assert _events(channel)[-1][0] == EventType.MEMBER_JOINED


def test_a_plain_member_cannot_invite_into_a_private_channel(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob], private=True)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_invite(actor=bob, conversation_id=channel.pk, user_ids=[carol.pk])

    assert refused.value.code == ErrorCode.FORBIDDEN
    assert chat_state() == before


def test_inviting_someone_already_there_records_nothing(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    before = chat_state()

    added = membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[bob.pk])

    assert added == []
    assert chat_state() == before


def test_inviting_an_unknown_user_invites_nobody(alice, bob):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[bob.pk, 999_999])

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


def test_an_outsider_cannot_invite_into_a_private_channel(alice, bob, carol):
    channel = ChannelFactory(creator=alice, private=True)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_invite(actor=carol, conversation_id=channel.pk, user_ids=[bob.pk])

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


# --- leaving and removal ---------------------------------------------------------------------


def test_a_removed_member_hears_their_own_removal_and_nothing_after(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob, carol])

    membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk)
    send(alice, channel, "bob is gone")

    (left, left_audience, left_payload), (new, new_audience, _) = _events(channel)[-2:]
    assert (left, new) == (EventType.MEMBER_LEFT, EventType.MESSAGE_NEW)
    assert left_audience == sorted([alice.pk, bob.pk, carol.pk])
    assert left_payload["user"]["id"] == bob.pk
    assert left_payload["reason"] == "removed"
    assert new_audience == sorted([alice.pk, carol.pk])
    assert bob.pk not in _members(channel)


def test_a_member_who_leaves_hears_their_own_departure_and_nothing_after(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "hello")

    membership_leave(user=bob, conversation_id=channel.pk)
    reaction_add(user=alice, message_id=message.pk, emoji="👍")

    (left, left_audience, left_payload), (reaction, reaction_audience, _) = _events(channel)[-2:]
    assert (left, left_payload["reason"]) == (EventType.MEMBER_LEFT, "left")
    assert left_audience == sorted([alice.pk, bob.pk])
    assert (reaction, reaction_audience) == (EventType.REACTION_ADDED, [alice.pk])


def test_leaving_twice_is_refused_the_second_time(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    membership_leave(user=bob, conversation_id=channel.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_leave(user=bob, conversation_id=channel.pk)

    assert refused.value.code == ErrorCode.NOT_A_MEMBER
    assert chat_state() == before


def test_a_plain_member_cannot_remove_anyone(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob, carol])
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_remove(actor=bob, conversation_id=channel.pk, user_id=carol.pk)

    assert refused.value.code == ErrorCode.FORBIDDEN
    assert chat_state() == before


def test_removing_someone_who_is_not_a_member_is_not_found(alice, carol):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        membership_remove(actor=alice, conversation_id=channel.pk, user_id=carol.pk)

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_a_removed_member_may_rejoin_a_public_channel(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk)

    membership_join(user=bob, conversation_id=channel.pk)

    assert _members(channel)[bob.pk] == MemberRole.MEMBER


# --- updating and archiving ------------------------------------------------------------------


def test_an_owner_renames_and_sets_the_topic(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    conversation_update(actor=alice, conversation_id=channel.pk, name="Desk-2", topic="FX")

    kind, audience, payload = _events(channel)[-1]
    channel.refresh_from_db()
    assert (channel.name, channel.topic) == ("desk-2", "FX")
    assert (kind, audience) == (EventType.CONVERSATION_UPDATED, sorted([alice.pk, bob.pk]))
    assert payload["changes"] == ["name", "topic"]
    assert (payload["details"]["name"], payload["details"]["topic"]) == ("desk-2", "FX")


def test_an_update_that_changes_nothing_records_nothing(alice):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    conversation_update(actor=alice, conversation_id=channel.pk, name=channel.name, topic="")

    assert chat_state() == before


def test_a_plain_member_cannot_update_the_channel(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_update(actor=bob, conversation_id=channel.pk, topic="mine now")

    assert refused.value.code == ErrorCode.FORBIDDEN
    assert chat_state() == before


def test_renaming_to_a_taken_name_is_already_exists(alice):
    ChannelFactory(creator=alice, name="taken")
    channel = ChannelFactory(creator=alice, name="free")
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_update(actor=alice, conversation_id=channel.pk, name="taken")

    assert refused.value.code == ErrorCode.ALREADY_EXISTS
    assert chat_state() == before


def test_an_update_with_a_bad_name_or_topic_changes_nothing(alice):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_update(actor=alice, conversation_id=channel.pk, name="ok", topic="t" * 251)

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert chat_state() == before


def test_archiving_records_the_change_and_makes_the_channel_read_only(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    conversation_archive(actor=alice, conversation_id=channel.pk)

    kind, audience, payload = _events(channel)[-1]
    channel.refresh_from_db()
    assert channel.archived_at is not None
    assert (kind, audience) == (EventType.CONVERSATION_UPDATED, sorted([alice.pk, bob.pk]))
    assert payload["changes"] == ["archived"]
    assert payload["details"]["archived"] is True


def test_archiving_twice_records_one_event(alice):
    channel = ChannelFactory(creator=alice)
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()

    conversation_archive(actor=alice, conversation_id=channel.pk)

    assert chat_state() == before


def test_a_plain_member_cannot_archive(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_archive(actor=bob, conversation_id=channel.pk)

    assert refused.value.code == ErrorCode.FORBIDDEN
    assert chat_state() == before


@pytest.mark.parametrize(
    "change",
    [
        lambda channel, alice, carol: membership_invite(
            actor=alice, conversation_id=channel.pk, user_ids=[carol.pk]
        ),
        lambda channel, alice, carol: conversation_update(
            actor=alice, conversation_id=channel.pk, topic="new topic"
        ),
        lambda channel, alice, carol: send(alice, channel, "late"),
    ],
    ids=["invite", "update", "send"],
)
def test_an_archived_channel_is_read_only(alice, carol, change):
    channel = ChannelFactory(creator=alice)
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        change(channel, alice, carol)

    assert refused.value.code == ErrorCode.ARCHIVED
    assert chat_state() == before
