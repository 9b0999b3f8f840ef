"""The threads in which a chat server process runs its database work.

`database_sync_to_async` runs every call in one thread per process by default (channels'
"thread sensitive" mode), so a socket's query waits for every other socket's queries, and
the waits on PostgreSQL and Redis are not shared: at 100 messages/s per process that thread
was busy all the time while the process used 60 % of a core (docs/performance.md).

The chat socket's calls are self-contained: each one takes a connection (from the pool) and
gives it back, and any transaction it opens ends inside it. So they may run on a few threads
at once. Each call gives its connection back itself, before and after it runs: the chat
consumer no longer runs channels' clean-up before every message it dispatches
(`ChatConsumer.dispatch`), so nothing else would.

SQLite, the embedded default, lets one writer in at a time and fails a writer that
would wait to upgrade its lock, so there the pool has one thread.
"""

import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

P = ParamSpec("P")
R = TypeVar("R")


def db_thread_count() -> int:
    if connection.vendor == "sqlite":
        return 1
    return max(1, settings.EIM_SERVER_DB_THREADS)


@functools.cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=db_thread_count(), thread_name_prefix="eim-db")


def _giving_connections_back(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return call


def in_db_thread(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`func` as a coroutine function that runs on the process's database threads."""
    return cast(
        Callable[P, Awaitable[R]],
        sync_to_async(_giving_connections_back(func), thread_sensitive=False, executor=_executor()),
    )
