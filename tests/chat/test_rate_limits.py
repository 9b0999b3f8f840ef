"""The rate limiter: one Redis pool per process, one round trip per count, windows that end."""

import asyncio
import contextvars
import uuid

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings

from eim.chat import rate_limits
from eim.chat.errors import ChatError, ErrorCode
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


def test_a_window_is_counted_in_redis_and_expires_once_it_is_over():
    client = rate_limits._redis_counters()
    key = rate_limits._counters().make_key(f"rl:expiry-test:{uuid.uuid4()}")

    counts = [rate_limits._count_in_redis(client, key, 10) for _ in range(3)]
    client.expire(key, 5)  # as if the window were nearly over: counting must not extend it
    rate_limits._count_in_redis(client, key, 10)

    assert client is not None
    assert counts == [1, 2, 3]
    assert 0 < client.ttl(key) <= 5
    client.delete(key)


def test_without_redis_the_cache_api_counts_the_same_way():
    cache = LocMemCache("rate-limit-test", {})

    counts = [rate_limits._count_in_cache(cache, "rl:send:1:0", 10) for _ in range(3)]

    assert counts == [1, 2, 3]
    assert cache.get("rl:send:1:0") == 3


@override_settings(EIM_SEND_RATE="2/3600")
def test_the_third_send_in_a_window_is_refused_with_the_time_until_it_ends():
    user_id = int(uuid.uuid4().int % 10**9)
    rate_limit_check(scope="send", user_id=user_id)
    rate_limit_check(scope="send", user_id=user_id)

    with pytest.raises(ChatError) as refused:
        rate_limit_check(scope="send", user_id=user_id)

    assert refused.value.code == ErrorCode.RATE_LIMITED
    assert 0 < refused.value.retry_after <= 3600
