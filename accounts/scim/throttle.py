"""A fixed-window request limit per SCIM token (EIM_SCIM_RATE), counted in the shared cache."""

from django.conf import settings

from accounts.ratelimit import Rate, rate_exceeded

from .errors import ScimError


def scim_rate_check(*, token_id: int) -> None:
    """Count one request; raise a 429 ScimError with Retry-After when the window is full."""
    retry_after = rate_exceeded(
        key=f"scim-rate:{token_id}", rate=Rate.parse(settings.EIM_SCIM_RATE)
    )
    if retry_after:
        raise ScimError(
            429,
            f"too many requests; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
