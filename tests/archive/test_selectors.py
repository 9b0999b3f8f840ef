"""The archive's reads for the export's steps give what the general reads give."""

import pytest

from archive import selectors as archive_selectors
from archive.models import ArchiveRecord
from archive.services.archiving import archive_pending
from eim.chat.services.messages import message_delete, message_edit, reaction_add
from tests.factories import ChannelFactory, send

pytestmark = pytest.mark.django_db

LATER = ("message.edited", "message.deleted", "reaction.added")


def test_later_records_are_a_message_history_after_its_creation_up_to_a_seq(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    first = send(alice, channel, "buy 100 shares")
    message_edit(user=alice, message_id=first.pk, body="buy 100 shares, as agreed")
    reaction_add(user=bob, message_id=first.pk, emoji="👍")
    second = send(bob, channel, "株式 取引")
    archive_pending()
    cut = ArchiveRecord.objects.order_by("seq").values_list("seq", flat=True).last()
    message_delete(user=alice, message_id=first.pk)
    message_edit(user=bob, message_id=second.pk, body="株式")
    archive_pending()
    ids = [first.pk, second.pk]
    every = archive_selectors.message_histories(message_ids=ids, types=LATER)

    upto = archive_selectors.later_records(message_ids=ids, types=LATER, up_to_seq=cut)
    edits = archive_selectors.later_records(
        message_ids=ids, types=("message.edited",), up_to_seq=10**9
    )

    assert upto == {first.pk: [e for e in every[first.pk] if e.seq <= cut]}
    assert [e.type for e in upto[first.pk]] == ["message.edited", "reaction.added"]
    assert edits == {
        mid: [e for e in events if e.type == "message.edited"] for mid, events in every.items()
    }
    assert archive_selectors.later_records(message_ids=[], types=LATER, up_to_seq=cut) == {}


def test_later_records_refuse_what_is_no_event_type():
    with pytest.raises(ValueError, match="not an event type"):
        archive_selectors.later_records(message_ids=[1], types=("x' OR 1=1 --",), up_to_seq=1)
