"""One watch per chat server process over the API tokens its open sockets rode in on.

When access ends, the close reaches the socket over the channel layer within milliseconds
(`services/access_changes.py`); but the layer is lossy. Re-checking the token on every frame
made every send pay a query on the socket's database threads, which capped throughput
(docs/performance.md, "Access that ends"). Instead, every EIM_SOCKET_TOKEN_CHECK_SECONDS this
watch asks, in one query for all of this process's token sockets, which tokens no longer hold
(the user deactivated, the token revoked or expired), and closes those sockets. A socket whose
token ended refuses its frames from then on. Browser sockets (a session) are re-checked on
each frame instead: few frames, and a session's check cannot be batched as cheaply.
"""

import asyncio
import logging
from typing import Protocol

from django.conf import settings

from accounts.selectors import AccessStanding, token_sign_ins_ended

from .db_threads import in_db_thread
from .sign_in import CloseCode

logger = logging.getLogger(__name__)


class WatchedSocket(Protocol):
    user_id: int

    def sign_in_ended(self, code: CloseCode) -> None: ...


def close_code(standing: AccessStanding) -> CloseCode:
    if standing == AccessStanding.DEACTIVATED:
        return CloseCode.ACCESS_ENDED
    return CloseCode.SIGNED_OUT


class TokenSignInWatch:
    def __init__(self) -> None:
        self.sockets: dict[str, set[WatchedSocket]] = {}
        self.task: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def add(self, token_digest: str, socket: WatchedSocket) -> None:
        self.sockets.setdefault(token_digest, set()).add(socket)
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.loop is not loop:
            self.loop = loop
            self.task = loop.create_task(self._run())

    def discard(self, token_digest: str, socket: WatchedSocket) -> None:
        sockets = self.sockets.get(token_digest)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.sockets[token_digest]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(settings.EIM_SOCKET_TOKEN_CHECK_SECONDS)
            if not self.sockets:
                continue
            try:
                await self.check()
            except Exception:
                logger.exception("checking the open sockets' API tokens failed")

    async def check(self) -> None:
        """Close every socket whose token no longer holds."""
        token_users = {
            digest: next(iter(sockets)).user_id
            for digest, sockets in self.sockets.items()
            if sockets
        }
        ended = await in_db_thread(token_sign_ins_ended)(token_users=token_users)
        for digest, standing in ended.items():
            for socket in self.sockets.pop(digest, set()):
                socket.sign_in_ended(close_code(standing))


token_sign_in_watch = TokenSignInWatch()
