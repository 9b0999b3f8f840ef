"""A small protocol client for tests against a real Daphne."""

import asyncio
import json
from typing import Any

import websockets

FRAME_TIMEOUT = 5.0


class ChatSocket:
    def __init__(self, ws: websockets.ClientConnection, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello

    @classmethod
    async def open(
        cls, url: str, token: str, *, cursors: dict[int, int] | None = None, sync: bool = True
    ) -> "ChatSocket":
        return await cls.open_with(
            url, {"Authorization": f"Bearer {token}"}, cursors=cursors, sync=sync
        )

    @classmethod
    async def open_with(
        cls,
        url: str,
        headers: dict[str, str],
        *,
        cursors: dict[int, int] | None = None,
        sync: bool = True,
    ) -> "ChatSocket":
        """A socket authenticated by these handshake headers (a cookie and an Origin, say)."""
        ws = await websockets.connect(url, additional_headers=headers)
        socket = cls(ws, json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT)))
        if sync:
            await socket.sync(cursors or {})
        return socket

    async def sync(self, cursors: dict[int, int]) -> list[dict[str, Any]]:
        await self.send({"type": "sync", "cursors": {str(k): v for k, v in cursors.items()}})
        return await self.until("sync.done")

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def until(self, type_: str, timeout: float = FRAME_TIMEOUT) -> list[dict[str, Any]]:
        """Every frame received up to and including the first of `type_` (presence aside)."""
        frames = []
        while True:
            frame = await self.recv(timeout)
            if frame["type"] not in ("presence", "typing"):
                frames.append(frame)
            if frame["type"] == type_:
                return frames

    async def events(self, count: int, timeout: float = FRAME_TIMEOUT) -> list[dict[str, Any]]:
        """The next `count` conversation events (frames that carry a seq)."""
        events: list[dict[str, Any]] = []
        while len(events) < count:
            frame = await self.recv(timeout)
            if "seq" in frame:
                events.append(frame)
        return events

    async def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Frames with a seq that arrive within `seconds`: for asserting that none do."""
        events = []
        try:
            while True:
                frame = await self.recv(seconds)
                if "seq" in frame or frame["type"] in ("message.ack", "error"):
                    events.append(frame)
        except TimeoutError:
            return events

    async def closed(self, timeout: float = FRAME_TIMEOUT) -> int | None:
        """Wait for the server to close the socket (frames meanwhile are dropped); its code."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None

    async def close(self) -> None:
        await self.ws.close()
