"""The handshake's one database call and its admission (in-process, channels-redis).

The sign-in is checked in the same call as the socket's arrival (its conversations and its
presence), so a refused handshake must write nothing of an arrival; and a restart's storm of
handshakes is admitted EIM_HANDSHAKES_IN_FLIGHT at a time, none refused for waiting.
"""

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from accounts.models import ApiTokenActivity
from accounts.services import user_deactivate
from accounts.services.tokens import api_token_create
from eim.asgi import application
from eim.chat import arrivals
from eim.chat.models import PresenceSession
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def _bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def _open(headers: list[tuple[bytes, bytes]]) -> tuple[WebsocketCommunicator, bool, int]:
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, code = await communicator.connect(timeout=30)
    return communicator, connected, code


def _arrival_rows(user) -> tuple[int, int]:
    return (
        PresenceSession.objects.filter(user=user).count(),
        ApiTokenActivity.objects.filter(token__user=user).count(),
    )


async def test_a_session_signs_in_in_the_arrival_call_and_hello_names_its_user(alice):
    channel = await database_sync_to_async(ChannelFactory)(creator=alice)
    cookie = await database_sync_to_async(_session_cookie)(alice)

    communicator, connected, _ = await _open([ORIGIN, (b"cookie", cookie)])

    assert connected
    hello = await communicator.receive_json_from(timeout=10)
    assert hello["user"]["id"] == alice.pk
    assert str(channel.pk) in hello["cursors"]
    assert await database_sync_to_async(PresenceSession.objects.filter(user=alice).count)() == 1
    await communicator.disconnect()


async def test_a_deactivated_persons_session_is_refused_and_writes_no_presence(alice):
    cookie = await database_sync_to_async(_session_cookie)(alice)
    await database_sync_to_async(user_deactivate)(user=alice, by=None)
    before = await database_sync_to_async(_arrival_rows)(alice)

    _communicator, connected, code = await _open([ORIGIN, (b"cookie", cookie)])

    assert not connected
    assert code == 4401
    assert await database_sync_to_async(_arrival_rows)(alice) == before


async def test_a_revoked_tokens_handshake_is_refused_and_records_no_use_or_presence(alice):
    token = await database_sync_to_async(api_token_create)(user=alice)
    await database_sync_to_async(lambda: alice.auth_token_set.all().delete())()
    before = await database_sync_to_async(_arrival_rows)(alice)

    _communicator, connected, code = await _open(_bearer(token))

    assert not connected
    assert code == 4401
    assert await database_sync_to_async(_arrival_rows)(alice) == (0, 0) == before


async def test_a_cookie_is_not_read_when_an_empty_authorization_header_is_sent(alice):
    cookie = await database_sync_to_async(_session_cookie)(alice)

    _communicator, connected, code = await _open(
        [ORIGIN, (b"cookie", cookie), (b"authorization", b"")]
    )

    assert not connected
    assert code == 4401


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=1)
async def test_a_storm_of_handshakes_is_admitted_one_at_a_time_and_none_is_refused(
    alice, monkeypatch
):
    """Two database threads could run two arrivals at once: the gate lets one in."""
    tokens = [await database_sync_to_async(api_token_create)(user=alice) for _ in range(6)]
    running, most = 0, 0
    lock = threading.Lock()
    real_arrival = arrivals.arrivals_record

    def slow_arrival(arriving):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.1)  # a loaded database: arrivals overlap unless something orders them
            return real_arrival(arriving)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(arrivals, "arrivals_record", slow_arrival)

    opened = await asyncio.gather(*(_open(_bearer(t)) for t in tokens))

    assert [connected for _c, connected, _code in opened] == [True] * 6
    assert most == 1
    for communicator, _connected, _code in opened:
        assert (await communicator.receive_json_from(timeout=10))["type"] == "hello"
        await communicator.disconnect()


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=1)
async def test_a_handshake_whose_client_left_while_queued_is_never_worked_on(
    alice, bob, monkeypatch
):
    """Bob's handshake waits behind Alice's (one at a time); he gives up before his turn: his
    arrival never runs (no token use, no presence), and Alice's goes on."""
    alice_token = await database_sync_to_async(api_token_create)(user=alice)
    bob_token = await database_sync_to_async(api_token_create)(user=bob)
    arrived: list[bytes | None] = []
    real_arrival = arrivals.arrivals_record

    def slow_arrival(arriving):
        arrived.extend(presented.authorization for presented, _channel in arriving)
        time.sleep(0.5)  # Alice's arrival holds the one place while Bob leaves
        return real_arrival(arriving)

    monkeypatch.setattr(arrivals, "arrivals_record", slow_arrival)
    first = asyncio.ensure_future(_open(_bearer(alice_token)))
    await asyncio.sleep(0.1)
    queued = WebsocketCommunicator(application, "/ws/", headers=_bearer(bob_token))
    await queued.send_input({"type": "websocket.connect"})
    await asyncio.sleep(0.1)

    await queued.send_input({"type": "websocket.disconnect", "code": 1006})
    await queued.wait(timeout=5)  # the queued handshake ended without its turn
    communicator, connected, _code = await first

    assert connected
    assert arrived == [f"Bearer {alice_token}".encode()]
    assert await database_sync_to_async(_arrival_rows)(bob) == (0, 0)
    assert await database_sync_to_async(_arrival_rows)(alice) == (1, 1)
    await communicator.disconnect()
