"""The socket's handshake checks and its answers to bad frames (in-process, channels-redis)."""

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings

from eim.asgi import application
from eim.chat.models import ConversationEvent, Message
from tests.conftest import api_as
from tests.factories import ChannelFactory, send

pytestmark = pytest.mark.django_db(transaction=True)


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(headers: list[tuple[bytes, bytes]]) -> tuple[WebsocketCommunicator, bool, int]:
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _handshake(headers: list[tuple[bytes, bytes]]) -> tuple[bool, int]:
    _communicator, connected, code = await _connect(headers)
    return connected, code


async def _open_as(user) -> WebsocketCommunicator:
    cookie = await database_sync_to_async(_session_cookie)(user)
    communicator, connected, _ = await _connect(
        [(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)]
    )
    assert connected
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    await communicator.send_json_to({"type": "sync", "cursors": {}})
    await _next_of(communicator, "sync.done")
    return communicator


async def _next_of(communicator: WebsocketCommunicator, type_: str) -> dict:
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == type_:
            return frame


def _counts() -> tuple[int, int]:
    return Message.objects.count(), ConversationEvent.objects.count()


async def test_a_session_from_an_allowed_origin_is_accepted(alice):
    communicator = await _open_as(alice)
    await communicator.send_json_to({"type": "ping"})
    assert (await _next_of(communicator, "pong"))["type"] == "pong"
    await communicator.disconnect()


async def test_a_session_from_a_foreign_origin_is_refused(alice):
    cookie = await database_sync_to_async(_session_cookie)(alice)
    connected, _ = await _handshake([(b"origin", b"https://evil.example"), (b"cookie", cookie)])
    assert not connected


async def test_a_session_without_an_origin_is_refused(alice):
    cookie = await database_sync_to_async(_session_cookie)(alice)
    connected, _ = await _handshake([(b"cookie", cookie)])
    assert not connected


async def test_an_anonymous_socket_is_closed_with_4401():
    connected, code = await _handshake([(b"origin", b"http://127.0.0.1")])
    assert not connected
    assert code == 4401


@pytest.mark.parametrize("authorization", [b"Bearer not-a-real-token", b"Basic YWxpY2U6eA=="])
async def test_a_wrong_authorization_is_refused_even_with_a_valid_session(alice, authorization):
    """A handshake with an Authorization header is decided by it alone, never the cookie."""
    cookie = await database_sync_to_async(_session_cookie)(alice)
    connected, code = await _handshake(
        [
            (b"origin", b"http://127.0.0.1"),
            (b"cookie", cookie),
            (b"authorization", authorization),
        ]
    )
    assert not connected
    assert code == 4401


async def test_a_bearer_token_with_a_foreign_origin_is_refused(alice, token_for):
    token = await database_sync_to_async(token_for)(alice)
    connected, _ = await _handshake(
        [(b"origin", b"https://evil.example"), (b"authorization", f"Bearer {token}".encode())]
    )
    assert not connected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2, 3]", "invalid_frame"),
        ('{"no": "type"}', "invalid_frame"),
        ('{"type": "launch.missiles"}', "unknown_type"),
        ('{"type": "message.send", "conversation": "12", "body": "x"}', "invalid_frame"),
        ('{"type": "message.edit", "message": true, "body": "x"}', "invalid_frame"),
        ('{"type": "sync", "cursors": [1]}', "invalid_frame"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(alice, raw, code):
    communicator = await _open_as(alice)
    before = await database_sync_to_async(_counts)()

    await communicator.send_to(text_data=raw)
    error = await _next_of(communicator, "error")
    await communicator.send_json_to({"type": "ping"})
    pong = await _next_of(communicator, "pong")

    assert error["code"] == code
    assert error["detail"]
    assert pong["type"] == "pong"
    assert await database_sync_to_async(_counts)() == before
    await communicator.disconnect()


async def test_an_oversized_frame_is_refused_and_nothing_is_written(alice):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice)
    communicator = await _open_as(alice)
    before = await database_sync_to_async(_counts)()
    frame = {
        "type": "message.send",
        "conversation": channel.pk,
        "client_id": str(uuid.uuid4()),
        "body": "x" * settings.EIM_MAX_FRAME_BYTES,
    }

    await communicator.send_to(text_data=json.dumps(frame))
    error = await _next_of(communicator, "error")

    assert error["code"] == "frame_too_large"
    assert await database_sync_to_async(_counts)() == before
    await communicator.disconnect()


async def test_an_overlong_body_is_refused_with_its_client_id_echoed(alice):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice)
    communicator = await _open_as(alice)
    before = await database_sync_to_async(_counts)()
    client_id = str(uuid.uuid4())

    await communicator.send_json_to(
        {
            "type": "message.send",
            "conversation": channel.pk,
            "client_id": client_id,
            "body": "y" * (settings.EIM_MAX_MESSAGE_CHARS + 1),
        }
    )
    error = await _next_of(communicator, "error")

    assert error["code"] == "body_too_long"
    assert error["client_id"] == client_id
    assert await database_sync_to_async(_counts)() == before
    await communicator.disconnect()


async def test_sending_into_a_private_conversation_one_is_not_in_looks_like_not_found(alice, bob):
    secret = await database_sync_to_async(ChannelFactory)(creator=bob, private=True)
    communicator = await _open_as(alice)
    before = await database_sync_to_async(_counts)()

    await communicator.send_json_to(
        {
            "type": "message.send",
            "conversation": secret.pk,
            "body": "let me in",
            "client_id": str(uuid.uuid4()),
        }
    )
    error = await _next_of(communicator, "error")
    await communicator.send_json_to(
        {
            "type": "message.send",
            "conversation": 987654,
            "body": "anyone?",
            "client_id": str(uuid.uuid4()),
        }
    )
    missing = await _next_of(communicator, "error")

    assert error["code"] == missing["code"] == "not_found"
    assert error["detail"] == missing["detail"]
    assert await database_sync_to_async(_counts)() == before
    await communicator.disconnect()


async def test_the_same_client_id_sent_twice_makes_one_message(alice):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice)
    communicator = await _open_as(alice)
    frame = {
        "type": "message.send",
        "conversation": channel.pk,
        "body": "once",
        "client_id": str(uuid.uuid4()),
    }

    await communicator.send_json_to(frame)
    first = await _next_of(communicator, "message.ack")
    await communicator.send_json_to(frame)
    second = await _next_of(communicator, "message.ack")

    assert first["message"]["id"] == second["message"]["id"]
    assert await database_sync_to_async(Message.objects.filter(body="once").count)() == 1
    await communicator.disconnect()


async def test_typing_reaches_other_members_but_not_the_typist(alice, bob):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    alice_socket = await _open_as(alice)
    bob_socket = await _open_as(bob)

    await alice_socket.send_json_to({"type": "typing", "conversation": channel.pk})
    typing = await _next_of(bob_socket, "typing")
    await alice_socket.send_json_to({"type": "ping"})
    frames_for_alice = []
    while (frame := await alice_socket.receive_json_from(timeout=5))["type"] != "pong":
        frames_for_alice.append(frame["type"])

    assert typing["user"] == alice.pk
    assert typing["conversation"] == channel.pk
    assert "typing" not in frames_for_alice
    await alice_socket.disconnect()
    await bob_socket.disconnect()


async def _next_output_of(communicator: WebsocketCommunicator, type_: str) -> dict:
    while (output := await communicator.receive_output(timeout=5))["type"] != type_:
        pass
    return output


def _logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def _open_with_client(client: Client) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator, connected, _ = await _connect(
        [(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)]
    )
    assert connected
    await communicator.receive_json_from()
    return communicator


async def test_logging_out_closes_that_sessions_socket_and_no_other(alice):
    laptop = await database_sync_to_async(_logged_in_client)(alice)
    phone = await database_sync_to_async(_logged_in_client)(alice)
    laptop_socket = await _open_with_client(laptop)
    phone_socket = await _open_with_client(phone)

    response = await database_sync_to_async(laptop.post)("/logout/")
    closed = await _next_output_of(laptop_socket, "websocket.close")
    await phone_socket.send_json_to({"type": "ping"})
    pong = await _next_of(phone_socket, "pong")

    assert response.status_code == 302
    assert closed == {"type": "websocket.close", "code": 4401}
    assert pong["type"] == "pong"
    await phone_socket.disconnect()


@override_settings(EIM_EDIT_RATE="1/86400")
async def test_an_edit_over_the_rate_shared_with_rest_is_refused_on_the_socket(alice):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice)
    message = await database_sync_to_async(send)(alice, channel, "draft")
    rest = await database_sync_to_async(
        lambda: api_as(alice).patch(f"/api/v1/messages/{message.pk}/", {"body": "by REST"})
    )()
    communicator = await _open_as(alice)
    before = await database_sync_to_async(_counts)()

    await communicator.send_json_to(
        {"type": "message.edit", "message": message.pk, "body": "by socket", "ref": "e1"}
    )
    error = await _next_of(communicator, "error")

    assert rest.status_code == 200
    assert (error["code"], error["ref"]) == ("rate_limited", "e1")
    assert error["retry_after"] > 0
    assert await database_sync_to_async(_counts)() == before
    body = await database_sync_to_async(lambda: Message.objects.get(pk=message.pk).body)()
    assert body == "by REST"
    await communicator.disconnect()


async def test_a_valid_token_signs_in_its_own_user_not_the_cookies(alice, bob, token_for):
    cookie = await database_sync_to_async(_session_cookie)(alice)
    token = await database_sync_to_async(token_for)(bob)
    communicator, connected, _ = await _connect(
        [(b"cookie", cookie), (b"authorization", f"Bearer {token}".encode())]
    )
    hello = await communicator.receive_json_from()
    await communicator.disconnect()

    assert connected
    assert hello["user"]["id"] == bob.pk
