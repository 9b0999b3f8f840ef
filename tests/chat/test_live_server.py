import asyncio
import json
import uuid

import pytest
import websockets

from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def _hello_and_sync(ws: websockets.ClientConnection) -> dict:
    hello = json.loads(await ws.recv())
    await ws.send(json.dumps({"type": "sync", "cursors": {}}))
    await _next_of(ws, "sync.done")
    return hello


def test_a_message_sent_over_real_daphne_reaches_every_member(daphne_server, alice, bob, token_for):
    channel = ChannelFactory(creator=alice, members=[bob])
    tokens = {u.username: token_for(u) for u in (alice, bob)}

    async def scenario() -> tuple[dict, dict]:
        headers = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
        async with (
            websockets.connect(
                daphne_server.ws_url, additional_headers=headers(tokens["alice"])
            ) as a,
            websockets.connect(
                daphne_server.ws_url, additional_headers=headers(tokens["bob"])
            ) as b,
        ):
            await _hello_and_sync(a)
            await _hello_and_sync(b)
            client_id = str(uuid.uuid4())
            await a.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "conversation": channel.pk,
                        "body": "over the wire",
                        "client_id": client_id,
                    }
                )
            )
            ack = await _next_of(a, "message.ack")
            new = await _next_of(b, "message.new")
            return ack, new

    ack, new = asyncio.run(scenario())

    assert ack["message"]["body"] == "over the wire"
    assert new["message"]["id"] == ack["message"]["id"]
    assert new["seq"] == ack["message"]["seq"]


async def _next_of(ws: websockets.ClientConnection, type_: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame["type"] == type_:
            return frame
