"""ASGI applications for `bench/handshake.py`: the same handshake (accept, `hello`, the
client's `sync`, `sync.done`) on less and less of eim's stack, to find the floor of what a
handshake can cost on Daphne.

- `bare`: a raw ASGI app, no Channels: Daphne, Twisted and autobahn alone.
- `channels_plain`: a Channels consumer with the channel layer (its per-socket channel).
- `channels_session`: the origin check and the session stack (cookie → session → user),
  and a join of the user's group: the Channels floor of a signed-in socket.
- `channels_bearer`: eim's own middleware (origin check, session stack, Bearer token) in
  front of the same empty consumer.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eim.settings.base")

import django

django.setup()

from typing import Any  # noqa: E402

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from eim.chat.auth import ChatAuthMiddlewareStack  # noqa: E402
from eim.chat.origin import OriginCheck  # noqa: E402


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": '{"type": "hello"}'})
        elif event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": '{"type": "sync.done"}'})
        elif event["type"] == "websocket.disconnect":
            return


class Empty(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"type": "hello"})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json({"type": "sync.done"})


class EmptySignedIn(Empty):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.channel_layer.group_add(f"user.{user.pk}", self.channel_name)
        await super().connect()


def _websocket(app: Any) -> Any:
    return ProtocolTypeRouter({"websocket": app})


channels_plain = _websocket(URLRouter([path("ws/", Empty.as_asgi())]))
channels_session = _websocket(
    OriginCheck(AuthMiddlewareStack(URLRouter([path("ws/", EmptySignedIn.as_asgi())])))
)
channels_bearer = _websocket(
    OriginCheck(ChatAuthMiddlewareStack(URLRouter([path("ws/", EmptySignedIn.as_asgi())])))
)
