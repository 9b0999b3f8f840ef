"""A resuming socket's catch-up: every conversation behind, in one database call, exactly once
and in order (in-process sockets on channels-redis and PostgreSQL)."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from accounts.models import User
from eim.asgi import application
from eim.chat import catch_up, consumers
from tests.factories import ChannelFactory, send

pytestmark = pytest.mark.django_db(transaction=True)


async def _open(token: str) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return communicator, hello


async def _sync(communicator: WebsocketCommunicator, cursors: dict[str, int]) -> list[dict]:
    await communicator.send_json_to({"type": "sync", "cursors": cursors})
    frames = []
    while (frame := await communicator.receive_json_from(timeout=5))["type"] != "sync.done":
        frames.append(frame)
    return frames


def _send_each(author: User, conversations: list[Any], count: int) -> None:
    for i in range(count):
        for conversation in conversations:
            send(author, conversation, f"{conversation.pk} {i}")


def _bodies(frames: list[dict], conversation_id: int) -> list[str]:
    return [
        f["message"]["body"]
        for f in frames
        if f["type"] == "message.new" and f["conversation"] == conversation_id
    ]


async def test_a_sync_catches_up_every_conversation_in_one_database_call(
    alice, bob, token_for, monkeypatch
):
    channels = [
        await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob]) for _ in range(3)
    ]
    socket, hello = await _open(await database_sync_to_async(token_for)(bob))
    await database_sync_to_async(_send_each)(alice, channels, 4)
    reads: list[str] = []
    real, real_batch = consumers.in_db_thread, catch_up.catch_up_reads

    def counted(func: Any) -> Any:
        reads.append(func.__name__)
        return real(func)

    def counted_batch(asks: Any) -> Any:
        reads.append(f"catch_up_reads of {len(asks)}")
        return real_batch(asks)

    monkeypatch.setattr(consumers, "in_db_thread", counted)
    monkeypatch.setattr(catch_up, "catch_up_reads", counted_batch)

    frames = await _sync(socket, hello["cursors"])
    reads_by_sync = list(reads)
    await socket.disconnect()

    for channel in channels:
        assert _bodies(frames, channel.pk) == [f"{channel.pk} {i}" for i in range(4)]
    assert reads_by_sync == ["catch_up_reads of 1"]


@override_settings(EIM_SYNC_PAGE=3)
async def test_a_conversation_more_than_a_page_behind_is_caught_up_in_order_exactly_once(
    alice, bob, token_for
):
    channels = [
        await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob]) for _ in range(2)
    ]
    socket, hello = await _open(await database_sync_to_async(token_for)(bob))
    await database_sync_to_async(_send_each)(alice, channels, 8)

    frames = await _sync(socket, hello["cursors"])
    await socket.disconnect()

    for channel in channels:
        assert _bodies(frames, channel.pk) == [f"{channel.pk} {i}" for i in range(8)]
        seqs = [f["seq"] for f in frames if f.get("conversation") == channel.pk]
        assert seqs == sorted(set(seqs))


async def test_a_conversation_joined_while_away_is_caught_up_from_the_join(alice, bob, token_for):
    socket, hello = await _open(await database_sync_to_async(token_for)(bob))
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    await database_sync_to_async(_send_each)(alice, [channel], 2)

    frames = await _sync(socket, hello["cursors"])
    await socket.disconnect()

    assert str(channel.pk) not in hello["cursors"]
    assert _bodies(frames, channel.pk) == [f"{channel.pk} 0", f"{channel.pk} 1"]
