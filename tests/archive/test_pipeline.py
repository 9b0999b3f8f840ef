"""From the outbox to the archive: one chained record per event, in outbox order, exactly once."""

import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async as sync_to_async
from django.db import connection, transaction

from archive.models import GENESIS_HASH, ArchiveHead, ArchiveRecord
from archive.services.archiving import archive_pending
from archive.services.pipeline import WakeUp
from eim.chat.models import ConversationEvent
from eim.chat.services.conversations import membership_invite, membership_remove
from eim.chat.services.messages import (
    message_delete,
    message_edit,
    reaction_add,
    reaction_remove,
)
from ledger.canonical import canonical_json, chain_hash
from tests.archive.helpers import content, records
from tests.chat.socket_client import ChatSocket
from tests.conftest import api_as
from tests.factories import ChannelFactory, send, staged_attachment

pytestmark = pytest.mark.usefixtures("blob_root")


def _outbox_event_ids() -> list[str]:
    events = ConversationEvent.objects.order_by("id").values_list("event_id", flat=True)
    return [str(event_id) for event_id in events]


def _row(record: ArchiveRecord) -> tuple:
    return (
        record.seq,
        record.event_id,
        record.event_type,
        record.message_id,
        record.original_seq,
        record.occurred_at,
        record.archived_at,
        record.canonical,
        record.prev_hash,
        record.hash,
    )


def _api_send(user, conversation, body: str) -> dict:  # type: ignore[no-untyped-def]
    response = api_as(user).post(
        f"/api/v1/conversations/{conversation.pk}/messages/",
        {"body": body, "client_id": str(uuid.uuid4())},
        format="json",
    )
    return response.json()


async def _socket_send(socket: ChatSocket, conversation_id: int, body: str) -> dict:
    await socket.send(
        {
            "type": "message.send",
            "conversation": conversation_id,
            "body": body,
            "client_id": str(uuid.uuid4()),
        }
    )
    frames = await socket.until("message.ack")
    return frames[-1]["message"]


@pytest.mark.django_db(transaction=True)
def test_socket_and_api_messages_are_archived_in_outbox_order_on_one_chain(
    daphne_server, alice, bob, token_for
):
    channel = ChannelFactory(creator=alice, members=[bob])
    token = token_for(alice)

    async def conversation() -> None:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        first = await _socket_send(socket, channel.pk, "over the socket")
        await sync_to_async(_api_send)(bob, channel, "over the api")
        await _socket_send(socket, channel.pk, "over the socket again")
        await socket.send(
            {"type": "message.edit", "message": first["id"], "body": "edited", "ref": 1}
        )
        await socket.until("ok")
        await socket.send({"type": "reaction.add", "message": first["id"], "emoji": "ok", "ref": 2})
        await socket.until("ok")
        await socket.close()

    asyncio.run(conversation())
    archived = archive_pending()

    chain = records()
    said = [content(r) for r in chain]
    assert archived == len(chain) == ConversationEvent.objects.count() == 8
    assert [str(r.event_id) for r in chain] == _outbox_event_ids()
    assert [r.seq for r in chain] == list(range(1, 9))
    assert [r.prev_hash for r in chain] == [GENESIS_HASH, *(r.hash for r in chain[:-1])]
    assert [r.hash for r in chain] == [chain_hash(r.prev_hash, r.canonical) for r in chain]
    assert [canonical_json(c) for c in said] == [r.canonical for r in chain]
    assert [r.event_type for r in chain[3:]] == [
        "message.new",
        "message.new",
        "message.new",
        "message.edited",
        "reaction.added",
    ]
    assert [c["payload"]["message"]["body"] for c in said[3:6]] == [
        "over the socket",
        "over the api",
        "over the socket again",
    ]
    assert [c["actor"] for c in said[3:6]] == [alice.pk, bob.pk, alice.pk]
    assert [r.original_seq for r in chain[6:]] == [chain[3].seq, chain[3].seq]
    assert ArchiveHead.objects.get().last_seq == 8
    assert ArchiveHead.objects.get().last_hash == chain[-1].hash


@pytest.mark.django_db
def test_every_outbox_event_is_marked_with_its_record(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel, "one")
    send(bob, channel, "two")

    archive_pending()

    marked = dict(ConversationEvent.objects.values_list("event_id", "archived_seq"))
    assert marked == dict(ArchiveRecord.objects.values_list("event_id", "seq"))


@pytest.mark.django_db
def test_edits_deletes_and_reactions_are_new_records_pointing_at_the_message(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "the original words")
    archive_pending()
    created = ArchiveRecord.objects.get(event_type="message.new", message_id=message.pk)
    before = _row(created)

    message_edit(user=alice, message_id=message.pk, body="the second words")
    reaction_add(user=bob, message_id=message.pk, emoji="eyes")
    reaction_remove(user=bob, message_id=message.pk, emoji="eyes")
    message_delete(user=alice, message_id=message.pk)
    archive_pending()

    later = list(ArchiveRecord.objects.filter(seq__gt=created.seq).order_by("seq"))
    said = [content(r) for r in later]
    assert [r.event_type for r in later] == [
        "message.edited",
        "reaction.added",
        "reaction.removed",
        "message.deleted",
    ]
    assert [r.original_seq for r in later] == [created.seq] * 4
    assert [r.message_id for r in later] == [message.pk] * 4
    assert [c["original_seq"] for c in said] == [created.seq] * 4
    assert said[0]["payload"]["message"]["body"] == "the second words"
    assert said[3]["payload"]["message"]["deleted"] is True
    assert _row(ArchiveRecord.objects.get(seq=created.seq)) == before
    assert content(created)["payload"]["message"]["body"] == "the original words"
    assert created.original_seq is None


@pytest.mark.django_db
def test_an_attachment_record_points_at_its_message_archived_in_the_same_batch(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel, b"minutes of the meeting\n", "minutes.txt")
    message = send(alice, channel, "see attached", attachment_ids=[upload.pk])

    archive_pending()

    created = ArchiveRecord.objects.get(event_type="message.new")
    added = ArchiveRecord.objects.get(event_type="attachment.added")
    assert (added.seq, added.message_id, added.original_seq) == (
        created.seq + 1,
        message.pk,
        created.seq,
    )
    assert content(added)["payload"]["attachment"]["sha256"] == upload.sha256
    assert content(created)["payload"]["message"]["attachments"][0]["sha256"] == upload.sha256


@pytest.mark.django_db
def test_a_records_audience_is_the_membership_at_that_moment(alice, bob, carol):
    channel = ChannelFactory(creator=alice, members=[bob])
    before_carol = send(alice, channel, "before carol")
    membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[carol.pk])
    with_carol = send(alice, channel, "with carol")
    membership_remove(actor=alice, conversation_id=channel.pk, user_id=bob.pk)
    after_bob = send(alice, channel, "after bob")

    archive_pending()

    audience = {
        content(r)["payload"]["message"]["body"]: content(r)["audience"]
        for r in ArchiveRecord.objects.filter(event_type="message.new")
    }
    departure = content(ArchiveRecord.objects.get(event_type="member.left"))
    assert audience == {
        before_carol.body: sorted([alice.pk, bob.pk]),
        with_carol.body: sorted([alice.pk, bob.pk, carol.pk]),
        after_bob.body: sorted([alice.pk, carol.pk]),
    }
    assert departure["audience"] == sorted([alice.pk, bob.pk, carol.pk])
    assert departure["payload"]["user"]["id"] == bob.pk


@pytest.mark.django_db
def test_archiving_twice_archives_nothing_new(alice):
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "once")
    first = archive_pending()
    chain = [_row(r) for r in records()]

    second = archive_pending()

    assert (first, second) == (3, 0)
    assert [_row(r) for r in records()] == chain


@pytest.mark.django_db
def test_archiving_continues_the_chain_across_batches(alice, settings):
    settings.EIM_ARCHIVE_BATCH = 2
    channel = ChannelFactory(creator=alice)
    for i in range(4):
        send(alice, channel, f"message {i}")

    archived = archive_pending()

    chain = records()
    assert archived == len(chain) == 6
    assert len({r.archived_at for r in chain}) == 3
    assert [r.seq for r in chain] == list(range(1, 7))
    assert [r.prev_hash for r in chain] == [GENESIS_HASH, *(r.hash for r in chain[:-1])]
    assert [r.hash for r in chain] == [chain_hash(r.prev_hash, r.canonical) for r in chain]


class RolledBackError(Exception):
    pass


def _send_and_roll_back(author, conversation, doomed: list[uuid.UUID]) -> None:  # type: ignore[no-untyped-def]
    """A send whose transaction fails after its event was written; notes the event's id."""
    with transaction.atomic():
        send(author, conversation, "rolled back")
        doomed.append(ConversationEvent.objects.latest("id").event_id)
        raise RolledBackError


@pytest.mark.django_db(transaction=True)
def test_an_event_whose_transaction_rolled_back_has_no_record(alice):
    channel = ChannelFactory(creator=alice)
    kept = send(alice, channel, "kept")
    doomed: list[uuid.UUID] = []
    with pytest.raises(RolledBackError):
        _send_and_roll_back(alice, channel, doomed)

    archived = archive_pending()

    bodies = [
        content(r)["payload"]["message"]["body"]
        for r in ArchiveRecord.objects.filter(event_type="message.new")
    ]
    assert archived == 3
    assert bodies == [kept.body]
    assert not ArchiveRecord.objects.filter(event_id=doomed[0]).exists()
    assert [str(r.event_id) for r in records()] == _outbox_event_ids()


def _in_threads(count: int, work) -> None:  # type: ignore[no-untyped-def]
    """Run `work(i)` in `count` threads at once, each on its own database connection."""

    def run(i: int) -> None:
        try:
            work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(run, range(count)))


@pytest.mark.django_db(transaction=True)
def test_archivers_running_at_once_archive_each_event_exactly_once(alice, settings):
    settings.EIM_ARCHIVE_BATCH = 3
    channel = ChannelFactory(creator=alice)
    for i in range(30):
        send(alice, channel, f"message {i}")

    _in_threads(4, lambda _: archive_pending())

    chain = records()
    assert [str(r.event_id) for r in chain] == _outbox_event_ids()
    assert [r.seq for r in chain] == list(range(1, 33))
    assert [r.prev_hash for r in chain] == [GENESIS_HASH, *(r.hash for r in chain[:-1])]
    assert not ConversationEvent.objects.filter(archived_seq__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_archiving_while_people_send_loses_and_repeats_nothing(alice, bob, settings):
    settings.EIM_ARCHIVE_BATCH = 4
    channels = [ChannelFactory(creator=alice), ChannelFactory(creator=bob)]
    authors = [alice, bob]

    def sender_or_archiver(i: int) -> None:
        for n in range(15):
            send(authors[i % 2], channels[i % 2], f"sender {i} message {n}")
            archive_pending()

    _in_threads(4, sender_or_archiver)
    archive_pending()

    chain = records()
    assert sorted(str(r.event_id) for r in chain) == sorted(_outbox_event_ids())
    assert len(chain) == ConversationEvent.objects.count() == 4 + 60
    assert [r.seq for r in chain] == list(range(1, 65))
    assert [r.prev_hash for r in chain] == [GENESIS_HASH, *(r.hash for r in chain[:-1])]
    assert [r.hash for r in chain] == [chain_hash(r.prev_hash, r.canonical) for r in chain]


def test_wake_ups_within_the_window_share_one_publish_from_one_thread():
    published: list[list[int]] = []
    bursts = {20: threading.Event(), 40: threading.Event()}

    def publish(event_ids: list[int]) -> None:
        published.append(event_ids)
        if (total := sum(map(len, published))) in bursts:
            bursts[total].set()

    wake_up = WakeUp(publish)
    for event_id in range(20):
        wake_up.request([event_id])
    assert bursts[20].wait(5)
    for event_id in range(20, 40):
        wake_up.request([event_id])
    assert bursts[40].wait(5)

    assert sorted(i for batch in published for i in batch) == list(range(40))
    assert len(published) <= 4  # two bursts, each coalesced (a burst may straddle a window)
    publishers = [t for t in threading.enumerate() if t.name == "archive-wake-up"]
    assert wake_up._thread in publishers
    assert sum(t._target == wake_up._run for t in publishers) == 1  # type: ignore[attr-defined]


def test_a_failing_publish_does_not_stop_later_wake_ups():
    calls: list[list[int]] = []
    second = threading.Event()

    def publish(event_ids: list[int]) -> None:
        calls.append(event_ids)
        if len(calls) == 1:
            raise RuntimeError("broker down")
        second.set()

    wake_up = WakeUp(publish)
    wake_up.request([1])
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    wake_up.request([2])
    assert second.wait(5)
    assert calls == [[1], [2]]
