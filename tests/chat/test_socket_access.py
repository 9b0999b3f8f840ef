"""Access that ends closes the sockets that relied on it, over a real Daphne with channels-redis.

Deactivation, a revoked or expired token, a new password and a sign-out each close the sockets
they affect within a second; and should the close be lost by the (lossy) channel layer, the
socket refuses the next frame it is sent.
"""

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
import websockets
from channels.db import database_sync_to_async as sync_to_async
from django.test import Client
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import ApiTokenActivity, Role
from accounts.services import user_deactivate
from accounts.services.roles import role_revoke
from eim.chat.models import Message
from eim.chat.services import access_changes, events
from eim.chat.services.conversations import membership_remove
from tests.chat.socket_client import ChatSocket
from tests.factories import ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_RECONNECT, CLOSE_SIGNED_OUT, CLOSE_ACCESS_ENDED = 4000, 4401, 4403


def _send_frame(conversation_id: int, body: str) -> dict:
    return {
        "type": "message.send",
        "conversation": conversation_id,
        "body": body,
        "client_id": str(uuid.uuid4()),
    }


def _rest_status(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/me/").status_code


async def _handshake_refused(url: str, token: str) -> bool:
    try:
        socket = await ChatSocket.open(url, token, sync=False)
    except (websockets.InvalidStatus, websockets.ConnectionClosed):
        return True
    await socket.close()
    return False


async def _timed_close(socket: ChatSocket, action) -> tuple[int | None, float]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    await sync_to_async(action)()
    code = await socket.closed(timeout=5)
    return code, time.monotonic() - started


def test_a_deactivated_users_open_socket_closes_within_a_second_and_cannot_send(
    daphne_server, alice, bob, token_for
):
    channel = ChannelFactory(creator=bob, members=[alice])
    token = token_for(alice)

    async def scenario() -> tuple[int | None, float, bool]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        code, elapsed = await _timed_close(socket, lambda: user_deactivate(user=alice, by=None))
        try:
            await socket.send(_send_frame(channel.pk, "after the end"))
            sent = True
        except websockets.ConnectionClosed:
            sent = False
        return code, elapsed, sent

    code, elapsed, sent = asyncio.run(scenario())

    print(f"deactivation to socket close: {elapsed * 1000:.0f} ms")
    assert code == CLOSE_ACCESS_ENDED
    assert elapsed < 1.0
    assert not sent
    assert not Message.objects.filter(body="after the end").exists()


def test_a_deactivated_user_whose_close_was_lost_is_closed_by_the_token_watch_within_a_second(
    daphne_server, alice, bob, token_for, monkeypatch
):
    token = token_for(alice)
    monkeypatch.setattr(access_changes, "ephemeral_broadcast", lambda *args: None)

    async def scenario() -> tuple[int | None, float]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)

        def deactivate() -> None:
            alice.is_active = False
            alice.save()

        return await _timed_close(socket, deactivate)

    code, elapsed = asyncio.run(scenario())

    assert code == CLOSE_ACCESS_ENDED
    # The server's token watch runs every EIM_SOCKET_TOKEN_CHECK_SECONDS (1 s).
    assert elapsed < 2.0


def test_a_role_revocation_asks_the_users_sockets_to_reconnect_within_a_second(
    daphne_server, officer, token_for
):
    administrator = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    token = token_for(officer)

    async def scenario() -> tuple[int | None, float]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        return await _timed_close(
            socket,
            lambda: role_revoke(
                actor=administrator, user_id=officer.pk, role=Role.COMPLIANCE_OFFICER
            ),
        )

    code, elapsed = asyncio.run(scenario())

    assert code == CLOSE_RECONNECT
    assert elapsed < 1.0
    assert not officer.roles.filter(role=Role.COMPLIANCE_OFFICER).exists()


def test_a_revoked_tokens_socket_closes_and_the_users_other_token_stays(
    daphne_server, alice, token_for
):
    revoked, kept = token_for(alice), token_for(alice)

    async def scenario() -> tuple[int | None, float, dict]:
        revoked_socket = await ChatSocket.open(daphne_server.ws_url, revoked)
        kept_socket = await ChatSocket.open(daphne_server.ws_url, kept)
        code, elapsed = await _timed_close(
            revoked_socket, lambda: AuthToken.objects.get(digest=hash_token(revoked)).delete()
        )
        await kept_socket.send({"type": "ping"})
        pong = (await kept_socket.until("pong"))[-1]
        await kept_socket.close()
        return code, elapsed, pong

    code, elapsed, pong = asyncio.run(scenario())

    assert code == CLOSE_SIGNED_OUT
    assert elapsed < 1.0
    assert pong == {"type": "pong"}


def test_a_new_password_closes_the_token_socket_and_the_token_is_refused(
    daphne_server, alice, token_for
):
    token = token_for(alice)

    async def scenario() -> tuple[int | None, float, bool]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)

        def change_password() -> None:
            alice.set_password("a-new-password-for-alice")
            alice.save()

        code, elapsed = await _timed_close(socket, change_password)
        refused = await _handshake_refused(daphne_server.ws_url, token)
        return code, elapsed, refused

    code, elapsed, handshake_refused = asyncio.run(scenario())

    assert code == CLOSE_SIGNED_OUT
    assert elapsed < 1.0
    assert handshake_refused
    assert _rest_status(token) == 401


def _signed_in_headers(client: Client) -> dict[str, str]:
    return {
        "Cookie": f"sessionid={client.cookies['sessionid'].value}",
        "Origin": "http://127.0.0.1",
    }


def test_signing_out_closes_that_sessions_socket_within_a_second(daphne_server, alice):
    browser = Client()
    browser.force_login(alice)

    async def scenario() -> tuple[int | None, float]:
        socket = await ChatSocket.open_with(daphne_server.ws_url, _signed_in_headers(browser))
        return await _timed_close(socket, lambda: browser.post("/logout/"))

    code, elapsed = asyncio.run(scenario())

    assert code == CLOSE_SIGNED_OUT
    assert elapsed < 1.0


def test_a_signed_out_session_whose_close_was_lost_refuses_the_next_frame(
    daphne_server, alice, bob, monkeypatch
):
    channel = ChannelFactory(creator=bob, members=[alice])
    browser = Client()
    browser.force_login(alice)
    monkeypatch.setattr("eim.chat.signals.ephemeral_broadcast", lambda *args: None)
    monkeypatch.setattr(access_changes, "ephemeral_broadcast", lambda *args: None)

    async def scenario() -> tuple[int | None, bool]:
        headers = _signed_in_headers(browser)
        socket = await ChatSocket.open_with(daphne_server.ws_url, headers)
        await sync_to_async(browser.post)("/logout/")
        await socket.send(_send_frame(channel.pk, "after signing out"))
        code = await socket.closed()
        try:
            await ChatSocket.open_with(daphne_server.ws_url, headers, sync=False)
            reconnected = True
        except (websockets.InvalidStatus, websockets.ConnectionClosed):
            reconnected = False
        return code, reconnected

    code, reconnected = asyncio.run(scenario())

    assert code == CLOSE_RECONNECT  # its session is gone; connecting again is refused
    assert not reconnected
    assert not Message.objects.filter(body="after signing out").exists()


def test_an_expired_token_is_refused_by_rest_and_the_handshake(daphne_server, alice, token_for):
    token = token_for(alice)
    made = AuthToken.objects.get(digest=hash_token(token))
    expires_in = made.expiry - made.created if made.expiry else None
    AuthToken.objects.filter(pk=made.pk).update(expiry=timezone.now() - timedelta(seconds=1))

    refused = asyncio.run(_handshake_refused(daphne_server.ws_url, token))

    assert expires_in is not None
    assert abs(expires_in - timedelta(days=90)) < timedelta(minutes=1)
    assert refused
    assert _rest_status(token) == 401


def test_opening_a_socket_records_the_tokens_last_use(daphne_server, alice, token_for):
    token = token_for(alice)
    before = timezone.now()

    async def scenario() -> None:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        await socket.close()

    asyncio.run(scenario())

    activity = ApiTokenActivity.objects.get(token__digest=hash_token(token))
    assert before <= activity.last_used_at <= timezone.now()


def test_a_removed_member_stops_receiving_the_conversations_presence_and_typing_at_once(
    daphne_server, alice, bob, token_for, monkeypatch
):
    channel = ChannelFactory(creator=alice, members=[bob])
    alice_token, bob_token = token_for(alice), token_for(bob)
    real_broadcast = events.broadcast_event

    def lose_member_left(frame, audience, notify_users):  # the layer loses that frame
        if frame["type"] != "member.left":
            real_broadcast(frame, audience, notify_users)

    monkeypatch.setattr(events, "broadcast_event", lose_member_left)

    async def frames_within(socket: ChatSocket, seconds: float) -> list[dict]:
        frames = []
        try:
            while True:
                frames.append(await socket.recv(seconds))
        except TimeoutError:
            return frames

    async def scenario() -> tuple[list[dict], list[dict]]:
        alice_socket = await ChatSocket.open(daphne_server.ws_url, alice_token)
        bob_socket = await ChatSocket.open(daphne_server.ws_url, bob_token)
        await frames_within(bob_socket, 0.3)  # alice's and bob's own "online"
        await alice_socket.send({"type": "presence.set", "status": "away"})
        await alice_socket.send({"type": "typing", "conversation": channel.pk})
        while_member = await frames_within(bob_socket, 0.5)
        await sync_to_async(membership_remove)(
            actor=alice, conversation_id=channel.pk, user_id=bob.pk
        )
        await alice_socket.send({"type": "presence.set", "status": "online"})
        await alice_socket.send({"type": "typing", "conversation": channel.pk})
        after_removal = await frames_within(bob_socket, 1.0)
        await alice_socket.close()
        await bob_socket.close()
        return while_member, after_removal

    while_member, after_removal = asyncio.run(scenario())

    assert {f["type"] for f in while_member} == {"presence", "typing"}
    assert [f["type"] for f in after_removal] == ["member.left"]
