"""Fixed-window request counts in the shared cache (Redis), for the limits that are not
django-axes' wrong-password count: SCIM tokens and the SSO sign-in endpoints.

On Redis a count is one round trip (INCR and EXPIRE in one script, one client per process); on
another cache (the embedded default) it goes through Django's cache API.
"""

import functools
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache
from redis.commands.core import Script

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """ "COUNT/SECONDS", e.g. "2000/10"."""
        count, seconds = str(text).split("/")
        return cls(int(count), int(seconds))


@functools.cache
def _redis() -> redis.Redis | None:
    config = settings.CACHES["default"]
    return redis.Redis.from_url(config["LOCATION"]) if config["BACKEND"] == REDIS_CACHE else None


# The count and, when a window starts, its expiry, in one command: one round trip and one reply
# (a MULTI/EXEC pipeline of INCR and EXPIRE cost the client about twice the CPU). EXPIRE NX
# leaves a running window's expiry alone.
_COUNT_SCRIPT = """
local used = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return used
"""


@functools.cache
def _count_script(client: redis.Redis) -> Script:
    return client.register_script(_COUNT_SCRIPT)


def _count(key: str, window: int) -> int:
    client = _redis()
    if client is not None:
        return int(_count_script(client)(keys=[cache.make_key(key)], args=[window + 1]))
    if cache.add(key, 1, timeout=window + 1):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=window + 1)
        return 1


def rate_exceeded(*, key: str, rate: Rate) -> int:
    """Count one request under `key`; 0 while within the rate, else the seconds until the
    window ends (for Retry-After)."""
    now = time.time()
    bucket = int(now // rate.window)
    if _count(f"{key}:{bucket}", rate.window) <= rate.limit:
        return 0
    return max(1, round((bucket + 1) * rate.window - now))
