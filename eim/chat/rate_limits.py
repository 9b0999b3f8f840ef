"""Per-user fixed-window rate limits kept in the shared cache (Redis in production)."""

import functools
import time

from django.conf import settings
from django.core.cache import BaseCache, caches

from .errors import ChatError, ErrorCode


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


def _count(key: str, window: int) -> int:
    """Add one to the window's counter."""
    cache = _counters()
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
            f"too many messages; try again in {retry_after} s",
            retry_after=retry_after,
        )
