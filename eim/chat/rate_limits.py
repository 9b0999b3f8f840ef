"""Per-user fixed-window rate limits kept in the shared cache (Redis in production)."""

import time

from django.conf import settings
from django.core.cache import cache

from .errors import ChatError, ErrorCode


def _parse_rate(rate: str) -> tuple[int, int]:
    count, seconds = rate.split("/")
    return int(count), int(seconds)


def rate_limit_check(*, scope: str, user_id: int, rate: str | None = None) -> None:
    """Count one action; raise RATE_LIMITED when the window is already full."""
    limit, window = _parse_rate(rate or settings.EIM_SEND_RATE)
    now = time.time()
    bucket = int(now // window)
    key = f"rl:{scope}:{user_id}:{bucket}"
    try:
        used = cache.incr(key)  # one round trip once the window has started
    except ValueError:
        cache.add(key, 0, timeout=window + 1)
        used = cache.incr(key)
    if used > limit:
        retry_after = round((bucket + 1) * window - now, 1)
        raise ChatError(
            ErrorCode.RATE_LIMITED,
            f"too many messages; try again in {retry_after} s",
            retry_after=retry_after,
        )
