"""A fixed-window request limit per SCIM token, counted in the shared cache (Redis).

On Redis it counts in one round trip (INCR + EXPIRE in a pipeline, one client per process);
on another cache (the embedded default) through Django's cache API.
"""

import functools
import time

import redis
from django.conf import settings
from django.core.cache import cache

from .errors import ScimError

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def _rate() -> tuple[int, int]:
    count, seconds = str(settings.EIM_SCIM_RATE).split("/")
    return int(count), int(seconds)


@functools.cache
def _redis() -> redis.Redis | None:
    config = settings.CACHES["default"]
    return redis.Redis.from_url(config["LOCATION"]) if config["BACKEND"] == REDIS_CACHE else None


def _count(key: str, window: int) -> int:
    client = _redis()
    if client is not None:
        with client.pipeline(transaction=True) as pipe:
            pipe.incr(cache.make_key(key))
            pipe.expire(cache.make_key(key), window + 1, nx=True)
            used, _ = pipe.execute()
        return int(used)
    if cache.add(key, 1, timeout=window + 1):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=window + 1)
        return 1


def scim_rate_check(*, token_id: int) -> None:
    """Count one request; raise a 429 ScimError with Retry-After when the window is full."""
    limit, window = _rate()
    now = time.time()
    bucket = int(now // window)
    if _count(f"scim-rate:{token_id}:{bucket}", window) > limit:
        retry_after = max(1, round((bucket + 1) * window - now))
        raise ScimError(
            429,
            f"too many requests; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
