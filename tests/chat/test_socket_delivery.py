"""Live delivery over a real Daphne with channels-redis: order, resume, gaps, membership."""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async as sync_to_async

from eim.chat.models import ConversationEvent, Message
from eim.chat.services import events as event_service
from eim.chat.services.conversations import membership_remove
from tests.chat.socket_client import ChatSocket
from tests.factories import ChannelFactory, send

pytestmark = pytest.mark.django_db(transaction=True)


def _send_many(author, conversation, count: int, prefix: str) -> list[int]:
    return [send(author, conversation, f"{prefix} {i}").pk for i in range(count)]


def test_reconnecting_client_receives_what_it_missed_in_order_exactly_once(
    daphne_server, alice, bob, token_for
):
    channel = ChannelFactory(creator=alice, members=[bob])
    token = token_for(bob)

    async def scenario() -> tuple[list[dict], list[dict]]:
        first = await ChatSocket.open(daphne_server.ws_url, token)
        cursor = first.hello["cursors"][str(channel.pk)]
        await first.close()
        await sync_to_async(_send_many)(alice, channel, 25, "while away")
        again = await ChatSocket.open(daphne_server.ws_url, token, sync=False)
        replayed = await again.sync({channel.pk: cursor})
        await sync_to_async(send)(alice, channel, "live after resume")
        live = await again.events(1)
        tail = await again.quiet()
        await again.close()
        return replayed, live + tail

    replayed, live = asyncio.run(scenario())

    bodies = [f["message"]["body"] for f in replayed if f["type"] == "message.new"]
    assert bodies == [f"while away {i}" for i in range(25)]
    seqs = [f["seq"] for f in replayed if "seq" in f]
    assert seqs == list(range(seqs[0], seqs[0] + 25))
    assert [f["message"]["body"] for f in live] == ["live after resume"]
    assert live[0]["seq"] == seqs[-1] + 1


def test_frames_lost_by_the_channel_layer_are_recovered_from_the_outbox(
    daphne_server, alice, bob, token_for, monkeypatch
):
    channel = ChannelFactory(creator=alice, members=[bob])
    token = token_for(bob)
    real_broadcast = event_service.broadcast_event
    dropped: list[int] = []

    def lossy_broadcast(frame, audience, notify_users):
        if frame["seq"] % 3 != 0:  # two frames in three never reach the layer
            dropped.append(frame["seq"])
            return
        real_broadcast(frame, audience, notify_users)

    monkeypatch.setattr(event_service, "broadcast_event", lossy_broadcast)

    async def scenario() -> list[dict]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        await sync_to_async(_send_many)(alice, channel, 30, "lossy")
        received = await socket.events(30, timeout=10)
        await socket.send({"type": "ping"})
        received += await socket.quiet(1.0)
        await socket.close()
        return received

    received = asyncio.run(scenario())

    assert len(dropped) >= 19
    assert [f["message"]["body"] for f in received] == [f"lossy {i}" for i in range(30)]


def test_the_tail_lost_by_the_layer_arrives_on_the_next_ping(
    daphne_server, alice, bob, token_for, monkeypatch
):
    channel = ChannelFactory(creator=alice, members=[bob])
    token = token_for(bob)
    monkeypatch.setattr(event_service, "broadcast_event", lambda *args: None)

    async def scenario() -> tuple[list[dict], list[dict]]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        await sync_to_async(_send_many)(alice, channel, 3, "silent")
        before_ping = await socket.quiet(0.5)
        await socket.send({"type": "ping"})
        after_ping = await socket.until("pong")
        await socket.close()
        return before_ping, after_ping

    before_ping, after_ping = asyncio.run(scenario())

    assert before_ping == []
    assert [f["message"]["body"] for f in after_ping if f["type"] == "message.new"] == [
        "silent 0",
        "silent 1",
        "silent 2",
    ]


def test_a_removed_member_receives_nothing_more_even_if_the_removal_frame_is_lost(
    daphne_server, alice, bob, token_for, monkeypatch
):
    channel = ChannelFactory(creator=alice, members=[bob])
    token = token_for(bob)
    real_broadcast = event_service.broadcast_event

    def drop_member_left(frame, audience, notify_users):
        if frame["type"] != "member.left":
            real_broadcast(frame, audience, notify_users)

    monkeypatch.setattr(event_service, "broadcast_event", drop_member_left)

    async def scenario() -> tuple[list[dict], dict]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        await sync_to_async(membership_remove)(
            actor=alice, conversation_id=channel.pk, user_id=bob.pk
        )
        await sync_to_async(send)(alice, channel, "after bob left")
        received = await socket.quiet(1.0)
        await socket.send(
            {
                "type": "message.send",
                "conversation": channel.pk,
                "body": "still here?",
                "client_id": str(uuid.uuid4()),
            }
        )
        refusal = (await socket.until("error"))[-1]
        await socket.close()
        return received, refusal

    received, refusal = asyncio.run(scenario())

    assert all(f.get("message", {}).get("body") != "after bob left" for f in received)
    assert refusal["code"] == "not_a_member"
    assert not Message.objects.filter(body="still here?").exists()


def test_a_removed_member_is_told_and_unsubscribed_when_frames_flow(
    daphne_server, alice, bob, token_for
):
    channel = ChannelFactory(creator=alice, members=[bob])
    token = token_for(bob)

    async def scenario() -> list[dict]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        await sync_to_async(membership_remove)(
            actor=alice, conversation_id=channel.pk, user_id=bob.pk
        )
        await sync_to_async(send)(alice, channel, "secret after removal")
        received = await socket.quiet(1.0)
        await socket.close()
        return received

    received = asyncio.run(scenario())

    assert [f["type"] for f in received] == ["member.left"]
    assert received[0]["user"]["id"] == bob.pk


def test_a_new_member_starts_receiving_without_reconnecting(daphne_server, alice, bob, token_for):
    channel = ChannelFactory(creator=alice)
    token = token_for(bob)

    async def scenario() -> list[dict]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        await sync_to_async(_invite)(alice, channel, bob)
        await sync_to_async(send)(alice, channel, "welcome bob")
        received = await socket.events(2)
        await socket.close()
        return received

    received = asyncio.run(scenario())

    assert [f["type"] for f in received] == ["member.joined", "message.new"]
    assert received[1]["message"]["body"] == "welcome bob"


def _invite(actor, channel, user) -> None:
    from eim.chat.services.conversations import membership_invite

    membership_invite(actor=actor, conversation_id=channel.pk, user_ids=[user.pk])


def test_every_member_socket_receives_each_message_once_in_seq_order(
    daphne_server, alice, bob, carol, token_for
):
    channel = ChannelFactory(creator=alice, members=[bob, carol])
    tokens = [token_for(u) for u in (alice, bob, carol)]

    async def scenario() -> list[list[dict]]:
        sockets = [await ChatSocket.open(daphne_server.ws_url, t) for t in tokens]
        for i in range(20):
            await sockets[i % 3].send(
                {
                    "type": "message.send",
                    "conversation": channel.pk,
                    "body": f"round {i}",
                    "client_id": str(uuid.uuid4()),
                }
            )
        received = [await s.events(20, timeout=10) for s in sockets]
        for s in sockets:
            await s.close()
        return received

    received = asyncio.run(scenario())

    expected = list(
        ConversationEvent.objects.filter(conversation=channel, type="message.new")
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert len(expected) == 20
    for frames in received:
        assert [f["seq"] for f in frames] == expected
