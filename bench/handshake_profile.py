"""Where one chat handshake's server CPU goes, in-process.

N handshakes (Bearer token, `hello`, `sync` with the hello's cursors, `sync.done`), one after
another, against eim's real ASGI application with channels-redis and PostgreSQL (no Daphne:
bench/handshake.py measures that). Each database call is timed in its own thread
(time.thread_time) and its queries counted; the event loop's share is the process's CPU
less the threads'. With `--cprofile FILE`, the event loop's thread is profiled too.

    .venv/bin/python bench/handshake_profile.py --handshakes 300
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import functools
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chat  # bench/chat.py: the population, the servers' environment
import handshake  # bench/handshake.py: tokens and sessions, presence as after a restart

cpu: collections.Counter[str] = collections.Counter()
calls: collections.Counter[str] = collections.Counter()
queries: collections.Counter[str] = collections.Counter()
_label = threading.local()


def _instrument() -> None:
    """Time every database-thread call of the handshake by its function's name."""
    from django.db.backends import utils

    from eim.chat import consumers

    real_execute = utils.CursorWrapper._execute

    def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        queries[getattr(_label, "name", "other")] += 1
        return real_execute(self, *args, **kwargs)

    utils.CursorWrapper._execute = counted_execute

    def timed(func: Any, name: str) -> Any:
        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            _label.name = name
            started = time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                cpu[name] += time.thread_time() - started
                calls[name] += 1
                _label.name = "other"

        return call

    real_in_db_thread = consumers.in_db_thread

    def in_db_thread(func: Any) -> Any:
        name = getattr(func, "__name__", "call")
        if name != "_as_actor":
            return real_in_db_thread(timed(func, name))

        def by_service(user: Any, service: Any, *args: Any) -> Any:
            return timed(func, service.__name__)(user, service, *args)

        return real_in_db_thread(by_service)

    consumers.in_db_thread = in_db_thread


async def _handshakes(tokens: list[str]) -> None:
    from channels.testing import WebsocketCommunicator

    from eim.asgi import application

    sockets = []
    for token in tokens:
        socket = WebsocketCommunicator(
            application, "/ws/", headers=[(b"authorization", f"Bearer {token}".encode())]
        )
        connected, _ = await socket.connect(timeout=30)
        assert connected
        hello = await socket.receive_json_from(timeout=30)
        await socket.send_json_to({"type": "sync", "cursors": hello["cursors"]})
        while (await socket.receive_json_from(timeout=30))["type"] != "sync.done":
            pass
        sockets.append(socket)
    await asyncio.sleep(0.2)
    for socket in sockets:
        socket.future.cancel()  # dropped, as by a restart: no disconnect handling measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handshakes", type=int, default=300)
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--database-url", default=chat.DATABASE_URL)
    parser.add_argument("--redis-url", default=chat.REDIS_URL)
    parser.add_argument("--cprofile", default="")
    options = parser.parse_args()
    chat.database_ensure(options.database_url, options.redis_url)
    import os

    os.environ.update(
        chat.server_environment(options.database_url, options.redis_url, {}, "eimprofile")
    )
    chat.django_setup(options.database_url, options.redis_url)
    credentials = handshake.credentials_prepare(options.handshakes, options.conversations)
    chat.presence_prepare(handshake.user_ids, "restart")
    from django.db import connections

    connections.close_all()
    _instrument()
    profiler = cProfile.Profile() if options.cprofile else None
    process_before, wall_before = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    asyncio.run(_handshakes([c.token for c in credentials]))
    if profiler:
        profiler.disable()
        profiler.dump_stats(options.cprofile)
    total = time.process_time() - process_before
    wall = time.perf_counter() - wall_before
    n = len(credentials)
    threads = sum(cpu.values())
    print(
        f"code {chat.code_version()}; {n} handshakes in {wall:.1f} s, load {os.getloadavg()[0]:.1f}"
    )
    print(f"  {'part':40} {'calls':>6} {'CPU ms':>7} {'queries':>8}")
    for name in sorted(cpu, key=cpu.get, reverse=True):
        print(
            f"  {name:40} {calls[name] / n:6.2f} {cpu[name] * 1000 / n:7.2f} "
            f"{queries[name] / n:8.2f}"
        )
    print(f"  {'event loop (the rest)':40} {'':6} {(total - threads) * 1000 / n:7.2f}")
    print(f"  {'total (process CPU, in-process client incl.)':40} {'':6} {total * 1000 / n:7.2f}")
    chat.redis_cleanup(options.redis_url, "eimprofile", celery_queue=False)


if __name__ == "__main__":
    main()
