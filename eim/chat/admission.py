"""How many handshakes a chat server process works on at once (EIM_HANDSHAKES_IN_FLIGHT).

After a restart every client comes back at once. Worked on all together, each handshake's
three database calls queue behind everyone else's, so every one of them is slow and the
first socket is back no sooner than the last; past Daphne's `--websocket_connect_timeout`
they are refused after most of their work, and come back to do it again. Admitted a few at
a time, in arrival order, each finishes in a few milliseconds and the rest wait their turn
without costing anything (docs/chat.md, "Sizing").
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

# One gate per event loop: a Daphne process has one; a test run makes one per test.
_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
    weakref.WeakKeyDictionary()
)


def handshake_admission() -> asyncio.Semaphore:
    """The running loop's gate: `async with handshake_admission(): ...` around a handshake."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(settings.EIM_HANDSHAKES_IN_FLIGHT)
    return gate


async def handshake_admitted(
    receive: Callable[[], Awaitable[dict[str, Any]]],
) -> asyncio.Semaphore | None:
    """Wait for this handshake's turn at the gate and return the gate (the caller releases
    it); None if its client left first. A client that gives up while queued (its own
    timeout, or Daphne's `--websocket_connect_timeout`) is then never worked on: Channels
    reads the disconnect only after `connect` returns, so without this the whole handshake
    was done for a socket already gone, and a storm's retries did it again.

    `receive` is the socket's ASGI receive: before a handshake is answered, the only
    message it can bring is `websocket.disconnect`."""
    gate = handshake_admission()
    if not gate.locked():
        await gate.acquire()
        return gate
    admitted = asyncio.ensure_future(gate.acquire())
    left = asyncio.ensure_future(receive())
    try:
        await asyncio.wait({admitted, left}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not left.done():
            left.cancel()  # asyncio.Queue.get cancelled keeps its item
    if left.done() and not left.cancelled():
        if admitted.done() and not admitted.cancelled():
            gate.release()
        else:
            admitted.cancel()  # a semaphore's waiter cancelled passes the turn on
        return None
    await admitted
    return gate
