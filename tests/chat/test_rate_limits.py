"""The rate limiter's Redis connections: one pool per process, not one per socket."""

import asyncio
import contextvars

import redis
from asgiref.sync import sync_to_async
from django.conf import settings

from eim.chat.rate_limits import rate_limit_check


def _clients_on_test_db() -> int:
    db = redis.Redis.from_url(settings.REDIS_URL).connection_pool.connection_kwargs.get("db", 0)
    clients = redis.Redis.from_url(settings.REDIS_URL).client_list()
    return sum(1 for client in clients if int(client["db"]) == db)


async def test_sockets_counting_sends_share_one_connection_pool():
    """Each consumer runs in its own async context, where django.core.cache.cache is a
    different client: the limiter must not open a connection per socket."""
    started = asyncio.Event()
    release = asyncio.Event()
    waiting = 0

    async def socket(user_id: int) -> None:
        nonlocal waiting
        await sync_to_async(rate_limit_check)(scope="pool-test", user_id=user_id, rate="50/10")
        waiting += 1
        if waiting == 20:
            started.set()
        await release.wait()  # keep every socket's context alive while counting

    warm = asyncio.create_task(socket(0), context=contextvars.Context())
    while waiting < 1:  # the first socket has counted, so the pool has its connection
        await asyncio.sleep(0.01)
    waiting = 0
    before = await sync_to_async(_clients_on_test_db)()
    # A fresh context per socket, as Daphne gives each consumer one of its own.
    tasks = [
        asyncio.create_task(socket(user_id), context=contextvars.Context())
        for user_id in range(1, 21)
    ]
    await asyncio.wait_for(started.wait(), 10)
    during = await sync_to_async(_clients_on_test_db)()
    release.set()
    await asyncio.gather(warm, *tasks)

    assert during - before <= 2  # the pool may open one more for concurrent use
