"""Who could see a message, from when to when: answered from archive records alone, so a
later join adds to the answer without any record changing."""

import pytest

from archive.exposure import message_exposure
from archive.models import ArchiveRecord
from archive.services.archiving import archive_pending
from eim.chat.models import ConversationEvent, EventType
from eim.chat.services.conversations import (
    membership_invite,
    membership_join,
    membership_leave,
    membership_remove,
)
from eim.chat.services.messages import message_delete, message_edit
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = pytest.mark.django_db


def _event_time(type_: EventType, username: str):  # type: ignore[no-untyped-def]
    event = (
        ConversationEvent.objects.filter(type=type_, payload__user__username=username)
        .order_by("-pk")
        .first()
    )
    assert event is not None
    return event.occurred_at


def _people(message_id: int) -> list[tuple]:
    exposure = message_exposure(message_id=message_id)
    assert exposure is not None
    return [
        (a.username, a.via, a.since, a.until, a.until_reason, len(a.version_seqs))
        for a in exposure.access
    ]


def test_a_later_joiner_with_visible_history_is_listed_from_their_join(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])
    earlier = send(alice, channel, "before carol came")
    membership_join(user=carol, conversation_id=channel.pk)
    archive_pending()

    people = _people(earlier.pk)

    written = _record_time(earlier.pk)
    assert people == [
        ("alice", "audience", written, None, None, 1),
        ("bob", "audience", written, None, None, 1),
        ("carol", "history", _event_time(EventType.MEMBER_JOINED, "carol"), None, None, 1),
    ]


def _record_time(message_id: int):  # type: ignore[no-untyped-def]
    return ArchiveRecord.objects.get(message_id=message_id, event_type="message.new").occurred_at


def test_the_join_leaves_the_earlier_records_as_they_were(alice, carol):
    channel = ChannelFactory(creator=alice)
    earlier = send(alice, channel, "before carol came")
    archive_pending()
    before = list(ArchiveRecord.objects.order_by("seq").values_list("seq", "canonical", "hash"))

    membership_join(user=carol, conversation_id=channel.pk)
    archive_pending()

    after = list(ArchiveRecord.objects.order_by("seq").values_list("seq", "canonical", "hash"))
    assert after[: len(before)] == before
    assert [p[0] for p in _people(earlier.pk)] == ["alice", "carol"]


def test_a_member_who_left_is_listed_until_they_left(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    earlier = send(alice, channel, "bob saw this")
    membership_leave(user=bob, conversation_id=channel.pk)
    archive_pending()

    people = {p[0]: p for p in _people(earlier.pk)}

    left = _event_time(EventType.MEMBER_LEFT, "bob")
    assert people["bob"][3:5] == (left, "left")
    assert people["alice"][3:5] == (None, None)


def test_a_removed_member_is_listed_until_the_removal(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    earlier = send(alice, channel, "bob saw this")
    membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk)
    archive_pending()

    people = {p[0]: p for p in _people(earlier.pk)}

    assert people["bob"][3:5] == (_event_time(EventType.MEMBER_LEFT, "bob"), "removed")


def test_with_history_hidden_a_later_joiner_is_not_listed(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob], history_visible=False)
    earlier = send(alice, channel, "before carol came")
    membership_join(user=carol, conversation_id=channel.pk)
    message_edit(user=alice, message_id=earlier.pk, body="edited after carol came")
    archive_pending()

    people = [p[0] for p in _people(earlier.pk)]

    assert people == ["alice", "bob"]


def test_someone_who_leaves_and_comes_back_is_listed_once_per_stay(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    earlier = send(alice, channel, "seen twice")
    membership_leave(user=bob, conversation_id=channel.pk)
    membership_join(user=bob, conversation_id=channel.pk)
    archive_pending()

    stays = [p for p in _people(earlier.pk) if p[0] == "bob"]

    assert [(via, reason) for _, via, _, _, reason, _ in stays] == [
        ("audience", "left"),
        ("history", None),
    ]


def test_access_ends_at_the_deletion_and_nobody_joining_after_it_is_listed(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])
    earlier = send(alice, channel, "soon gone")
    message_delete(user=alice, message_id=earlier.pk)
    membership_join(user=carol, conversation_id=channel.pk)
    archive_pending()

    people = _people(earlier.pk)

    deleted = ArchiveRecord.objects.get(event_type="message.deleted").occurred_at
    assert [(p[0], p[3], p[4]) for p in people] == [
        ("alice", deleted, "deleted"),
        ("bob", deleted, "deleted"),
    ]


def test_a_joiner_after_an_edit_could_read_only_the_edited_version(alice, carol):
    channel = ChannelFactory(creator=alice)
    earlier = send(alice, channel, "first wording")
    message_edit(user=alice, message_id=earlier.pk, body="second wording")
    membership_join(user=carol, conversation_id=channel.pk)
    archive_pending()

    exposure = message_exposure(message_id=earlier.pk)

    assert exposure is not None
    original, edit = (v.archive_seq for v in exposure.versions)
    seen = {a.username: a.version_seqs for a in exposure.access}
    assert seen == {"alice": (original, edit), "carol": (edit,)}


def test_joins_recorded_before_history_was_recorded_count_from_the_start(alice, bob):
    """Joins archived before member.joined said where the history starts: the history read
    gave every member the whole history then, so the archive says so."""
    channel = ChannelFactory(creator=alice)
    earlier = send(alice, channel, "old")
    membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[bob.pk])
    join = ConversationEvent.objects.get(type=EventType.MEMBER_JOINED, payload__user__id=bob.pk)
    payload = {k: v for k, v in join.payload.items() if k != "history_from_seq"}
    ConversationEvent.objects.filter(pk=join.pk).update(payload=payload)
    archive_pending()

    assert [(p[0], p[1]) for p in _people(earlier.pk)] == [
        ("alice", "audience"),
        ("bob", "history"),
    ]


def test_an_unknown_message_has_no_exposure(db):
    UserFactory()

    assert message_exposure(message_id=424242) is None
