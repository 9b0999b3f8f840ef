"""The outbox row and the change it records commit together, or not at all."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from eim.chat.models import Conversation, ConversationEvent, Message
from eim.chat.services import events as event_service
from eim.chat.services import messages as message_service
from eim.chat.services.messages import message_send
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory


class SimulatedCrashError(Exception):
    """Stands for a process dying between two lines of a service."""


def _state(conversation: Conversation) -> tuple[int, int, int]:
    conversation.refresh_from_db()
    return (
        Message.objects.filter(conversation=conversation).count(),
        ConversationEvent.objects.filter(conversation=conversation).count(),
        conversation.last_seq,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "crash_point",
    [
        "event_record",
        "conversation_audience",
        "message_payload",
        "rate_limit_check",  # runs after the message row is inserted
        "_staged_attachments",
    ],
)
def test_a_crash_inside_the_send_transaction_leaves_no_trace(alice, monkeypatch, crash_point):
    channel = ChannelFactory(creator=alice)
    before = _state(channel)

    def crash(*args, **kwargs):
        raise SimulatedCrashError(crash_point)

    monkeypatch.setattr(message_service, crash_point, crash)
    with pytest.raises(SimulatedCrashError):
        message_send(author=alice, conversation_id=channel.pk, body="lost?", client_id=uuid.uuid4())

    assert _state(channel) == before


@pytest.mark.django_db(transaction=True)
def test_a_failed_live_broadcast_after_commit_loses_nothing(alice, monkeypatch):
    channel = ChannelFactory(creator=alice)

    def layer_down(*args, **kwargs):
        raise ConnectionError("channel layer unreachable")

    monkeypatch.setattr(event_service, "broadcast_event", layer_down)
    response = api_as(alice).post(
        f"/api/v1/conversations/{channel.pk}/messages/",
        {"body": "kept", "client_id": str(uuid.uuid4())},
        format="json",
    )

    assert response.status_code == 201
    message = Message.objects.get(pk=response.json()["id"])
    event = ConversationEvent.objects.get(conversation=channel, seq=message.seq)
    assert event.type == "message.new"
    assert event.payload["message"]["body"] == "kept"


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_get_gapless_unique_seqs_and_one_event_each(alice):
    senders = [UserFactory() for _ in range(6)]
    channel = ChannelFactory(creator=alice, members=senders)
    start = _state(channel)[2]

    def send_batch(author) -> None:
        try:
            for i in range(15):
                message_send(
                    author=author,
                    conversation_id=channel.pk,
                    body=f"{author.pk}-{i}",
                    client_id=uuid.uuid4(),
                )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(send_batch, senders))

    messages, events, last_seq = _state(channel)
    seqs = list(
        ConversationEvent.objects.filter(conversation=channel, seq__gt=start)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert messages == 90
    assert seqs == list(range(start + 1, last_seq + 1))
    assert (
        sorted(Message.objects.filter(conversation=channel).values_list("seq", flat=True)) == seqs
    )
    assert (
        events - ConversationEvent.objects.filter(conversation=channel, seq__lte=start).count()
        == 90
    )


@pytest.mark.django_db(transaction=True)
def test_racing_sends_of_one_client_id_make_one_message(alice):
    channel = ChannelFactory(creator=alice)
    client_id = uuid.uuid4()

    def send_once(_: int) -> int:
        try:
            return message_send(
                author=alice, conversation_id=channel.pk, body="once", client_id=client_id
            ).message.pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(pool.map(send_once, range(8)))

    assert len(ids) == 1
    assert Message.objects.filter(conversation=channel).count() == 1
    assert ConversationEvent.objects.filter(conversation=channel, type="message.new").count() == 1
