"""Every SSO sign-in endpoint is throttled per client address (EIM_SSO_RATE): the provider
button's redirect, the OIDC callback and the SAML ACS. A throttled request is answered 429
before anything runs: no state is read or written, no code exchanged, nobody provisioned.

Wrong passwords are django-axes' (per username and address); this limit is about volume:
a script replaying callbacks or hammering the IdP redirect through eim.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.ratelimit import Rate, rate_exceeded


def sign_in_throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)  # keeps csrf_exempt and the like
    def throttled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        address = get_client_ip_address(request) or "unknown"
        retry_after = rate_exceeded(
            key=f"sso-rate:{address}", rate=Rate.parse(settings.EIM_SSO_RATE)
        )
        if retry_after:
            minutes = max(1, round(retry_after / 60))
            response = render(
                request,
                "sso/refused.html",
                {
                    "message": "Too many sign-in attempts from your network. "
                    f"Try again in about {minutes} minute{'s' if minutes > 1 else ''}."
                },
                status=429,
            )
            response["Retry-After"] = str(retry_after)
            return response
        return view(request, *args, **kwargs)

    return throttled
