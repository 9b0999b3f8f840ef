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
