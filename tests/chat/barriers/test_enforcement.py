"""The barrier matrix through the services: each action across the barrier is refused naming
the policy (never the other side's group) and changes nothing; the same action not across it
goes through."""

import io
import uuid

import pytest

from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import ConversationEvent, EventType, Membership
from eim.chat.services.attachments import attachment_upload
from eim.chat.services.conversations import (
    conversation_open_direct,
    membership_invite,
    membership_join,
)
from eim.chat.services.messages import message_edit, message_send, reaction_add
from eim.chat.services.presence import typing_notify
from tests.factories import ChannelFactory, direct_conversation, send

from .conftest import POLICY, barrier_in_force, chat_state

pytestmark = pytest.mark.django_db


def _refused(action, *args, **kwargs) -> ChatError:  # type: ignore[no-untyped-def]
    before = chat_state()
    with pytest.raises(ChatError) as caught:
        action(*args, **kwargs)
    assert chat_state() == before
    assert caught.value.code == ErrorCode.INFORMATION_BARRIER
    assert POLICY in caught.value.detail
    assert "Trading" not in caught.value.detail
    assert "Research" not in caught.value.detail
    return caught.value


def test_a_direct_message_across_the_barrier_is_refused(walled):
    _refused(conversation_open_direct, creator=walled.rita, user_ids=[walled.tom.pk])


def test_a_direct_message_not_across_the_barrier_opens(walled):
    assert conversation_open_direct(creator=walled.rita, user_ids=[walled.ruth.pk]).pk
    assert conversation_open_direct(creator=walled.tom, user_ids=[walled.nina.pk]).pk


def test_a_group_message_with_barred_people_is_refused(walled):
    _refused(
        conversation_open_direct, creator=walled.nina, user_ids=[walled.rita.pk, walled.tom.pk]
    )


def test_a_group_message_without_barred_pairs_opens(walled):
    group = conversation_open_direct(creator=walled.nina, user_ids=[walled.rita.pk, walled.ruth.pk])
    assert group.kind == "group"


def test_inviting_someone_barred_from_a_member_is_refused(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.nina])
    _refused(
        membership_invite, actor=walled.rita, conversation_id=channel.pk, user_ids=[walled.tom.pk]
    )


def test_inviting_two_people_barred_from_each_other_at_once_adds_neither(walled):
    channel = ChannelFactory(creator=walled.nina)
    _refused(
        membership_invite,
        actor=walled.nina,
        conversation_id=channel.pk,
        user_ids=[walled.ruth.pk, walled.tom.pk],
    )


def test_inviting_someone_not_barred_from_anyone_there_adds_them(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.ruth])
    membership_invite(actor=walled.rita, conversation_id=channel.pk, user_ids=[walled.nina.pk])
    assert Membership.objects.filter(conversation=channel, user=walled.nina).exists()


def test_joining_a_public_channel_with_a_barred_member_is_refused(walled):
    channel = ChannelFactory(creator=walled.rita)
    _refused(membership_join, user=walled.tom, conversation_id=channel.pk)


def test_joining_a_public_channel_without_barred_members_succeeds(walled):
    channel = ChannelFactory(creator=walled.nina)
    membership_join(user=walled.tom, conversation_id=channel.pk)
    assert Membership.objects.filter(conversation=channel, user=walled.tom).exists()


def test_mentioning_a_barred_person_is_refused_even_outside_the_conversation(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.nina])
    _refused(
        message_send,
        author=walled.rita,
        conversation_id=channel.pk,
        body="ask @tom about it",
        client_id=uuid.uuid4(),
    )


def test_mentioning_someone_not_barred_is_sent(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.nina])
    message = send(walled.rita, channel, "ask @nina about it")
    assert list(message.mentions.values_list("username", flat=True)) == ["nina"]


def test_an_edit_that_mentions_a_barred_person_is_refused(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.nina])
    message = send(walled.rita, channel, "ask about it")
    _refused(message_edit, user=walled.rita, message_id=message.pk, body="ask @tom about it")


# --- a conversation the barrier found already in place: read-only, with a notice ------------


@pytest.fixture
def dm_before_the_wall(people):
    dm = direct_conversation(people.rita, people.tom)
    message = send(people.tom, dm, "before the wall")
    barrier_in_force(people.admin, people.research, people.trading)
    dm.refresh_from_db()
    return dm, message


def test_an_existing_direct_message_becomes_read_only_with_a_notice(people, dm_before_the_wall):
    dm, _ = dm_before_the_wall
    notice = ConversationEvent.objects.filter(conversation=dm).order_by("-seq").first()

    assert dm.barrier_restricted
    assert notice.type == EventType.CONVERSATION_UPDATED
    assert notice.payload["changes"] == ["read_only"]
    assert notice.payload["details"]["barrier_read_only"] is True
    assert sorted(notice.audience) == sorted([people.rita.pk, people.tom.pk])


def test_sending_into_a_read_only_conversation_is_refused(people, dm_before_the_wall):
    dm, _ = dm_before_the_wall
    _refused(
        message_send, author=people.rita, conversation_id=dm.pk, body="hi", client_id=uuid.uuid4()
    )


def test_reacting_in_a_read_only_conversation_is_refused(people, dm_before_the_wall):
    _, message = dm_before_the_wall
    _refused(reaction_add, user=people.rita, message_id=message.pk, emoji="👍")


def test_reacting_not_across_the_barrier_is_recorded(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.ruth])
    message = send(walled.ruth, channel, "findings")
    assert reaction_add(user=walled.rita, message_id=message.pk, emoji="👍") is True


def test_sharing_a_file_into_a_read_only_conversation_is_refused(people, dm_before_the_wall):
    dm, _ = dm_before_the_wall
    _refused(
        attachment_upload,
        user=people.rita,
        conversation_id=dm.pk,
        filename="model.txt",
        stream=io.BytesIO(b"numbers"),
        size=7,
    )


def test_sharing_a_file_not_across_the_barrier_is_staged(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.ruth])
    attachment = attachment_upload(
        user=walled.rita,
        conversation_id=channel.pk,
        filename="model.txt",
        stream=io.BytesIO(b"numbers"),
        size=7,
    )
    assert attachment.pk


def test_editing_in_a_read_only_conversation_is_refused(people, dm_before_the_wall):
    _, message = dm_before_the_wall
    _refused(message_edit, user=people.tom, message_id=message.pk, body="changed")


def test_typing_in_a_read_only_conversation_is_refused(people, dm_before_the_wall):
    dm, _ = dm_before_the_wall
    with pytest.raises(ChatError) as caught:
        typing_notify(user=people.rita, conversation_id=dm.pk)
    assert caught.value.code == ErrorCode.INFORMATION_BARRIER


def test_reopening_a_read_only_direct_message_returns_it_and_its_history_stays_readable(
    people, dm_before_the_wall
):
    from eim.chat.selectors import messages_page

    dm, message = dm_before_the_wall
    assert conversation_open_direct(creator=people.rita, user_ids=[people.tom.pk]).pk == dm.pk
    page = messages_page(user=people.rita, conversation_id=dm.pk)
    assert [m["id"] for m in page["results"]] == [message.pk]


def test_an_administrators_add_through_the_common_path_is_refused_across_the_barrier(walled):
    """The console adds people with the same `_add_member` every way into a channel passes
    (its own service lands with the console); the barrier refuses it there, naming the policy."""
    from django.db import transaction

    from eim.chat.services import conversations

    channel = ChannelFactory(creator=walled.rita)

    def console_add(user):  # type: ignore[no-untyped-def]
        with transaction.atomic():
            locked = conversations.conversation_lock(conversation_id=channel.pk)
            conversations._add_member(locked, user=user, actor=walled.admin, role="member")

    _refused(console_add, walled.tom)
    console_add(walled.nina)
    assert Membership.objects.filter(conversation=channel, user=walled.nina).exists()


@pytest.mark.parametrize(
    "mentioned",
    [[], ["tom"], ["ruth"], ["nina", "tom"], ["nobody"], ["rita"], ["tom", "nobody", "ruth"]],
)
def test_the_one_query_mention_check_answers_as_the_two_step_one(walled, mentioned):
    from accounts.selectors import group_ids_of_user_and_usernames
    from eim.chat.barriers.rules import _mention_facts, barriers_in_force

    barriers = barriers_in_force()
    segments = {g for b in barriers for g in (b.segment_a, b.segment_b)}

    one_query = _mention_facts(walled.rita.pk, mentioned)

    assert one_query == (
        barriers,
        group_ids_of_user_and_usernames(
            user_id=walled.rita.pk, usernames=mentioned, among_group_ids=segments
        ),
    )


def test_the_one_query_mention_check_with_no_policy_in_force_reads_no_one(people):
    from eim.chat.barriers.rules import _mention_facts

    assert _mention_facts(people.rita.pk, ["tom"]) == ([], {})
