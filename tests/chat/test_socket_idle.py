"""An idle socket on channels-redis must stay open (redis-py 8's 5 s socket_timeout trap)."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from tests.chat.socket_client import ChatSocket
from tests.factories import ChannelFactory, send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_an_idle_socket_stays_open_past_ten_seconds_and_still_receives(
    daphne_server, alice, bob, token_for
):
    channel = ChannelFactory(creator=alice, members=[bob])
    token = token_for(bob)

    async def scenario() -> list[dict]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        await asyncio.sleep(12)
        await database_sync_to_async(send)(alice, channel, "still there?")
        received = await socket.events(1)
        await socket.close()
        return received

    received = asyncio.run(scenario())

    assert received[0]["message"]["body"] == "still there?"
