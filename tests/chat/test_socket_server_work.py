"""How the chat socket shares a server process: database threads, thread hops, overtaking frames.

In-process sockets (WebsocketCommunicator) on channels-redis and PostgreSQL, so the test can
count what the consumer does.
"""

import asyncio
import threading
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client

from accounts.models import User
from eim.asgi import application
from eim.chat import consumers, db_threads, selectors
from eim.chat.services import events as event_service
from tests.factories import ChannelFactory, send

pytestmark = pytest.mark.django_db(transaction=True)


def _session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _open_as(user: User) -> WebsocketCommunicator:
    cookie = await database_sync_to_async(_session_cookie)(user)
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "sync", "cursors": {}})
    while (await communicator.receive_json_from(timeout=5))["type"] != "sync.done":
        pass
    return communicator


async def _messages(communicator: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while len(frames) < count:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == "message.new":
            frames.append(frame)
    return frames


def _send_many(author: User, conversation: Any, count: int) -> None:
    for i in range(count):
        send(author, conversation, f"message {i}")


async def test_live_deliveries_make_no_hop_to_the_database_thread(alice, bob, monkeypatch):
    """channels cleans up connections in its one database thread before every message; the
    chat consumer never does (its database calls give their connections back themselves),
    not even at the handshake."""
    hops: list[str] = []

    async def counted_cleanup() -> None:
        hops.append("cleanup")

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted_cleanup)
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    socket = await _open_as(bob)

    await database_sync_to_async(_send_many)(alice, channel, 5)
    received = await _messages(socket, 5)
    await socket.disconnect()

    assert [f["message"]["body"] for f in received] == [f"message {i}" for i in range(5)]
    assert hops == []


async def test_each_database_thread_gives_its_connection_back_after_a_call():
    threads = db_threads.db_thread_count()
    everyone_in = threading.Barrier(threads, timeout=5)

    def query() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    def still_connected() -> bool:
        everyone_in.wait()  # one check per thread: no thread takes two
        return connection.connection is not None

    await asyncio.gather(*(db_threads.in_db_thread(query)() for _ in range(threads * 3)))
    loop = asyncio.get_running_loop()
    executor = db_threads._executor()
    open_after = await asyncio.gather(
        *(loop.run_in_executor(executor, still_connected) for _ in range(threads))
    )

    assert threads > 1  # PostgreSQL: the socket's calls do not queue behind one thread
    assert open_after == [False] * threads


async def test_frames_that_overtake_each_other_arrive_in_order_without_an_outbox_read(
    alice, bob, monkeypatch
):
    real_broadcast = event_service.broadcast_event
    held: list[tuple[Any, ...]] = []

    def swapping_broadcast(*args: Any) -> None:
        """Publish every second event before the one that committed ahead of it."""
        if not held:
            held.append(args)
            return
        real_broadcast(*args)
        real_broadcast(*held.pop())

    outbox_reads: list[int] = []
    real_events_after = selectors.events_after

    def counted_events_after(**kwargs: Any) -> Any:
        outbox_reads.append(kwargs["after_seq"])
        return real_events_after(**kwargs)

    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    socket = await _open_as(bob)
    monkeypatch.setattr(event_service, "broadcast_event", swapping_broadcast)
    monkeypatch.setattr(selectors, "events_after", counted_events_after)

    await database_sync_to_async(_send_many)(alice, channel, 10)
    received = await _messages(socket, 10)
    await socket.disconnect()

    assert [f["message"]["body"] for f in received] == [f"message {i}" for i in range(10)]
    seqs = [f["seq"] for f in received]
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    assert outbox_reads == []


async def test_a_send_still_reaches_the_others_live_when_the_senders_socket_goes_mid_call(
    alice, bob, monkeypatch
):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    listener = await _open_as(bob)
    sender = await _open_as(alice)
    in_the_thread = threading.Event()
    release = threading.Event()
    real_send = consumers.messages.message_send

    def slow_send(**kwargs: Any) -> Any:
        in_the_thread.set()
        release.wait(timeout=10)
        return real_send(**kwargs)

    monkeypatch.setattr(consumers.messages, "message_send", slow_send)
    await sender.send_json_to(
        {
            "type": "message.send",
            "conversation": channel.pk,
            "body": "last words",
            "client_id": str(uuid.uuid4()),
        }
    )
    await asyncio.get_running_loop().run_in_executor(None, in_the_thread.wait, 5)
    sender.future.cancel()  # the server gives up on the socket while its send is in the thread
    release.set()

    received = await _messages(listener, 1)  # live: long before the listener's next ping
    await listener.disconnect()

    assert received[0]["message"]["body"] == "last words"


async def test_a_socket_send_is_acknowledged_and_kept_when_the_layer_is_down(
    alice, bob, monkeypatch
):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    sender = await _open_as(alice)
    failed: list[tuple[str, str]] = []

    async def layer_down(group: str, message: dict[str, Any]) -> None:
        failed.append((group, message["type"]))
        raise ConnectionError("channel layer unreachable")

    monkeypatch.setattr(get_channel_layer(), "group_send", layer_down)
    await sender.send_json_to(
        {
            "type": "message.send",
            "conversation": channel.pk,
            "body": "kept",
            "client_id": str(uuid.uuid4()),
        }
    )
    while (ack := await sender.receive_json_from(timeout=5))["type"] != "message.ack":
        pass
    await sender.disconnect()

    stored = await database_sync_to_async(_outbox_body)(channel.pk, ack["message"]["seq"])
    assert ack["message"]["body"] == "kept"
    assert stored == "kept"
    assert (f"conv.{channel.pk}", "conversation.event") in failed


def _outbox_body(conversation_id: int, seq: int) -> str:
    from eim.chat.models import ConversationEvent

    event = ConversationEvent.objects.get(conversation_id=conversation_id, seq=seq)
    return str(event.payload["message"]["body"])
