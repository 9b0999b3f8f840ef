"""The socket's own re-check of its sign-in, which bounds how long a lost close leaves it open
(in-process, on channels-redis, with a short EIM_SOCKET_ACCESS_CHECK_SECONDS)."""

import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.test import Client
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from accounts.models import User
from accounts.services.access import AccessChange, access_reduced
from eim.asgi import application
from eim.chat.models import Message
from eim.chat.services import access_changes
from eim.chat.sign_in import CloseCode
from eim.chat.sign_in_watch import token_sign_in_watch
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)

CHECK_SECONDS = 0.3


@pytest.fixture(autouse=True)
def _short_check_period(settings) -> None:  # type: ignore[no-untyped-def]
    settings.EIM_SOCKET_ACCESS_CHECK_SECONDS = CHECK_SECONDS


async def _open(headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


def _bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"origin", b"http://127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]


def _cookie(client: Client) -> list[tuple[bytes, bytes]]:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return [(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)]


async def _close_code(communicator: WebsocketCommunicator, timeout: float = 5) -> int:
    while (output := await communicator.receive_output(timeout=timeout))["type"] != (
        "websocket.close"
    ):
        pass
    return int(output["code"])


async def test_a_silent_socket_whose_close_was_lost_closes_within_the_check_period(
    alice, token_for, monkeypatch
):
    token = await database_sync_to_async(token_for)(alice)
    socket = await _open(_bearer(token))
    monkeypatch.setattr(access_changes, "ephemeral_broadcast", lambda *args: None)

    def deactivate() -> None:
        alice.is_active = False
        alice.save()

    started = time.monotonic()
    await database_sync_to_async(deactivate)()
    code = await _close_code(socket)

    assert code == 4403
    assert time.monotonic() - started < CHECK_SECONDS + 1.0


async def test_a_token_that_expires_while_its_socket_is_open_closes_it(alice, token_for):
    token = await database_sync_to_async(token_for)(alice)
    socket = await _open(_bearer(token))

    await database_sync_to_async(AuthToken.objects.filter(digest=hash_token(token)).update)(
        expiry=timezone.now() - timedelta(seconds=1)
    )

    assert await _close_code(socket) == 4401


async def test_a_revoked_role_asks_the_users_sockets_to_reconnect(alice, token_for):
    token = await database_sync_to_async(token_for)(alice)
    socket = await _open(_bearer(token))

    def revoke() -> None:
        with transaction.atomic():
            access_reduced(user_id=alice.pk, change=AccessChange.ROLE_REVOKED)

    await database_sync_to_async(revoke)()

    assert await _close_code(socket) == 4000


async def test_after_a_new_password_only_the_browser_that_set_it_connects_again(alice):
    """Django gives the session that changed the password a new key, so every session socket
    is asked to reconnect (4000); the browser with the new cookie gets in, the others not."""

    def signed_in() -> Client:
        client = Client()
        client.force_login(alice)
        return client

    laptop = await database_sync_to_async(signed_in)()
    phone = await database_sync_to_async(signed_in)()
    laptop_socket = await _open(_cookie(laptop))
    phone_socket = await _open(_cookie(phone))

    def change_password_on_the_laptop() -> None:
        user = User.objects.get(pk=alice.pk)
        user.set_password("a-new-password-for-alice")
        user.save()
        request = type("Request", (), {"session": laptop.session, "user": user})()
        update_session_auth_hash(request, user)  # type: ignore[arg-type]
        request.session.save()
        laptop.cookies["sessionid"] = request.session.session_key

    await database_sync_to_async(change_password_on_the_laptop)()
    codes = (await _close_code(laptop_socket), await _close_code(phone_socket))
    laptop_again = WebsocketCommunicator(application, "/ws/", headers=_cookie(laptop))
    phone_again = WebsocketCommunicator(application, "/ws/", headers=_cookie(phone))
    laptop_connected, _ = await laptop_again.connect()
    phone_connected, phone_code = await phone_again.connect()

    assert codes == (4000, 4000)
    assert laptop_connected
    assert (phone_connected, phone_code) == (False, 4401)
    await laptop_again.disconnect()


async def test_the_token_watch_closes_a_socket_whose_token_was_revoked_while_its_close_was_lost(
    alice, token_for, monkeypatch, settings
):
    settings.EIM_SOCKET_ACCESS_CHECK_SECONDS = 3600  # only the process's token watch acts
    settings.EIM_SOCKET_TOKEN_CHECK_SECONDS = 0.2
    token = await database_sync_to_async(token_for)(alice)
    socket = await _open(_bearer(token))
    monkeypatch.setattr(access_changes, "ephemeral_broadcast", lambda *args: None)

    started = time.monotonic()
    await database_sync_to_async(AuthToken.objects.filter(digest=hash_token(token)).delete)()
    code = await _close_code(socket)

    assert code == 4401
    assert time.monotonic() - started < 0.2 + 1.0


async def test_a_token_socket_the_watch_found_ended_refuses_its_next_frame_and_writes_nothing(
    alice, bob, token_for, settings
):
    settings.EIM_SOCKET_ACCESS_CHECK_SECONDS = 3600
    settings.EIM_SOCKET_TOKEN_CHECK_SECONDS = 3600
    channel = await database_sync_to_async(ChannelFactory)(creator=bob, members=[alice])
    token = await database_sync_to_async(token_for)(alice)
    socket = await _open(_bearer(token))
    (consumer,) = token_sign_in_watch.sockets[hash_token(token)]
    consumer.sign_in_lost = CloseCode.ACCESS_ENDED  # as the watch marks it, before its close

    await socket.send_json_to(
        {"type": "message.send", "conversation": channel.pk, "body": "after", "client_id": "c1"}
    )
    code = await _close_code(socket)

    assert code == 4403
    assert not await database_sync_to_async(Message.objects.filter(body="after").exists)()
