"""Per-user fixed-window rate limits kept in the shared cache (Redis in production)."""

import functools
import time

import redis
from django.conf import settings
from django.core.cache import BaseCache, caches

from .errors import ChatError, ErrorCode

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
# What a refusal says it counted, by scope.
_COUNTED = {"send": "messages", "edit": "edits", "reaction": "reactions", "upload": "uploads"}


def _parse_rate(rate: str) -> tuple[int, int]:
    count, seconds = rate.split("/")
    return int(count), int(seconds)


@functools.cache
def _counters() -> BaseCache:
    """One cache client, with one connection pool, per process.

    `django.core.cache.cache` is local to the async context, so under Channels every socket
    (every consumer task) would build its own client and open its own Redis connection.
    """
    return caches.create_connection("default")


@functools.cache
def _redis_counters() -> redis.Redis | None:
    """A Redis client on the cache's server, when the cache is Redis (one per process).

    Django's cache API needs two round trips to count (EXISTS, then INCR or SET NX) and
    builds a client object for each; counting in Redis itself takes one.
    """
    config = settings.CACHES["default"]
    if config["BACKEND"] != REDIS_CACHE:
        return None
    return redis.Redis.from_url(config["LOCATION"])


def _count_in_redis(client: redis.Redis, key: str, window: int) -> int:
    with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window + 1, nx=True)
        used, _expiry_set = pipe.execute()
    return int(used)


def _count_in_cache(cache: BaseCache, key: str, window: int) -> int:
    try:
        return int(cache.incr(key))
    except ValueError:
        pass
    if cache.add(key, 1, timeout=window + 1):
        return 1
    try:
        return int(cache.incr(key))  # another request started the window first
    except ValueError:
        cache.set(key, 1, timeout=window + 1)  # and it expired in between
        return 1


def _count(key: str, window: int) -> int:
    """Add one to the window's counter."""
    cache = _counters()
    client = _redis_counters()
    if client is not None:
        return _count_in_redis(client, cache.make_key(key), window)
    return _count_in_cache(cache, key, window)


def rate_limit_check(*, scope: str, user_id: int, rate: str | None = None) -> None:
    """Count one action; raise RATE_LIMITED when the window is already full."""
    limit, window = _parse_rate(rate or settings.EIM_SEND_RATE)
    now = time.time()
    bucket = int(now // window)
    used = _count(f"rl:{scope}:{user_id}:{bucket}", window)
    if used > limit:
        retry_after = round((bucket + 1) * window - now, 1)
        raise ChatError(
            ErrorCode.RATE_LIMITED,
            f"too many {_COUNTED.get(scope, 'requests')}; try again in {retry_after} s",
            retry_after=retry_after,
        )
