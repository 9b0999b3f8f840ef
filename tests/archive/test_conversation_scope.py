"""A scope of whole conversations read a window of seqs at a time gives the same records in
the same order whatever the windows: however wrong the density it starts from, wherever a
read starts and however much it asks for."""

import pytest

from accounts.models import User
from archive import conversation_scope
from archive.conversation_scope import (
    SCOPE_TYPES,
    ConversationScope,
    ConversationScopeReader,
    conversation_scope_count,
)
from archive.models import ArchiveRecord
from archive.selectors import archive_head_seq
from archive.services.archiving import archive_pending
from eim.chat.models import EventType
from eim.chat.services.messages import message_edit, reaction_add
from tests.factories import ChannelFactory, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def interleaved(alice: User, bob: User) -> ConversationScope:
    """Three channels written in turns, the scope two of them: its records are spread over
    the archive, sparse, with runs of the third channel between them."""
    desk, floor, other = (ChannelFactory(creator=alice, name=n, members=[bob]) for n in "abc")
    for i in range(12):
        for conversation in (desk, other, other, other, other, floor):
            send(alice if i % 2 else bob, conversation, f"message {i}")
    first = send(alice, desk, "to be edited")
    message_edit(user=alice, message_id=first.pk, body="edited")
    reaction_add(user=bob, message_id=first.pk, emoji="👍")
    archive_pending()
    return ConversationScope(conversation_ids=(desk.pk, floor.pk), up_to_seq=archive_head_seq())


def test_every_kind_of_record_but_a_blocked_attempt_is_in_a_conversations_scope():
    assert set(SCOPE_TYPES) == set(EventType) - {EventType.MESSAGE_BLOCKED}


@pytest.mark.parametrize("records", [1, 10**6], ids=["thought-sparse", "thought-dense"])
def test_reads_in_windows_give_the_scopes_records_in_order_wherever_they_start(
    interleaved: ConversationScope, records: int, monkeypatch: pytest.MonkeyPatch
):
    everything = ConversationScopeReader(interleaved, records=10**6).records_after(
        after_seq=0, limit=10**6
    )
    seqs = [row.seq for row, _ in everything]
    archived = ArchiveRecord.objects.filter(conversation_id__in=interleaved.conversation_ids)
    assert seqs == sorted(archived.values_list("seq", flat=True))
    assert len(seqs) == conversation_scope_count(interleaved)
    assert seqs[-1] - seqs[0] > 2 * len(seqs)  # sparse: the other channel's runs between
    monkeypatch.setattr(conversation_scope, "MIN_WINDOW", 1)

    reader = ConversationScopeReader(interleaved, records=records)
    for after in (0, *seqs[::5]):
        for limit in (1, 3, 7, 200):
            expected = [s for s in seqs if s > after][:limit]
            got = reader.records_after(after_seq=after, limit=limit)
            assert [row.seq for row, _ in got] == expected
            assert reader.seqs_after(after_seq=after, limit=limit) == expected
    (desk, _) = interleaved.conversation_ids
    desk_seqs = list(archived.filter(conversation_id=desk).order_by("seq").values_list("seq"))
    got = reader.records_after(after_seq=0, limit=10**6, conversation_id=desk)
    assert [(row.seq,) for row, _ in got] == desk_seqs
