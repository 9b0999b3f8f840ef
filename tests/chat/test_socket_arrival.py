"""What a socket hears as it arrives: its own presence once, and a word if it acts before
`sync` (in-process, channels-redis)."""

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.services.tokens import api_token_create
from eim.asgi import application
from tests.factories import ChannelFactory, direct_conversation

pytestmark = pytest.mark.django_db(transaction=True)


async def _open(user) -> WebsocketCommunicator:
    token = await database_sync_to_async(api_token_create)(user=user)
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _frames(communicator: WebsocketCommunicator, seconds: float = 0.6) -> list[dict]:
    frames = []
    while not await communicator.receive_nothing(timeout=seconds):
        frames.append(await communicator.receive_json_from())
    return frames


async def _shared_conversations(alice, bob) -> None:
    await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    await database_sync_to_async(direct_conversation)(alice, bob)


async def test_a_new_socket_hears_its_own_online_presence_once(alice, bob):
    await _shared_conversations(alice, bob)

    communicator = await _open(alice)
    frames = await _frames(communicator)

    presences = [f for f in frames if f["type"] == "presence"]
    assert presences == [{"type": "presence", "user": alice.pk, "status": "online"}]
    await communicator.disconnect()


async def test_a_member_of_several_shared_conversations_hears_a_presence_once(alice, bob):
    await _shared_conversations(alice, bob)
    listener = await _open(bob)
    await _frames(listener)

    arriving = await _open(alice)
    frames = await _frames(listener)

    presences = [f for f in frames if f["type"] == "presence" and f["user"] == alice.pk]
    assert presences == [{"type": "presence", "user": alice.pk, "status": "online"}]
    await arriving.disconnect()
    await listener.disconnect()


async def test_a_send_before_sync_is_acknowledged_and_the_client_told_once(alice, bob):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    communicator = await _open(alice)
    await _frames(communicator)
    send = {"type": "message.send", "conversation": channel.pk, "body": "early"}

    await communicator.send_json_to(send | {"client_id": str(uuid.uuid4())})
    first = await _frames(communicator)
    await communicator.send_json_to(send | {"client_id": str(uuid.uuid4())})
    second = await _frames(communicator)

    assert [f["type"] for f in first] == ["message.ack", "notice"]
    assert first[1]["code"] == "not_synced"
    assert [f["type"] for f in second] == ["message.ack"]
    await communicator.disconnect()


async def test_a_synced_socket_is_never_told(alice, bob):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    communicator = await _open(alice)
    await communicator.send_json_to({"type": "sync", "cursors": {}})
    await _frames(communicator)

    await communicator.send_json_to(
        {"type": "message.send", "conversation": channel.pk, "body": "hi", "client_id": "x"}
    )
    frames = await _frames(communicator)

    assert "notice" not in [f["type"] for f in frames]
    await communicator.disconnect()
