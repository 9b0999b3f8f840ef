"""A fixed-window request limit per SCIM token, counted in the shared cache (Redis)."""

import time

from django.conf import settings
from django.core.cache import cache

from .errors import ScimError


def _rate() -> tuple[int, int]:
    count, seconds = str(settings.EIM_SCIM_RATE).split("/")
    return int(count), int(seconds)


def scim_rate_check(*, token_id: int) -> None:
    """Count one request; raise a 429 ScimError with Retry-After when the window is full."""
    limit, window = _rate()
    now = time.time()
    bucket = int(now // window)
    key = f"scim-rate:{token_id}:{bucket}"
    if cache.add(key, 1, timeout=window + 1):
        used = 1
    else:
        try:
            used = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, timeout=window + 1)
            used = 1
    if used > limit:
        retry_after = max(1, round((bucket + 1) * window - now))
        raise ScimError(
            429,
            f"too many requests; try again in {retry_after} s",
            None,
            headers={"Retry-After": str(retry_after)},
        )
