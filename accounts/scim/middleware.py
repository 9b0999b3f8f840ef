"""/scim/ requests skip the middleware of cookie sign-in.

SCIM authenticates by bearer token only (`accounts.scim.views`), so sessions, CSRF, Django's
and allauth's authentication, messages, the MFA gate and django-axes have nothing to do there,
yet cost a push a fifth of its CPU (docs/performance.md, "SCIM push"). Placed just after the
security headers' middleware, this sends a /scim/ request through a short chain of its own:
what still applies to a JSON API (CommonMiddleware, X-Frame-Options, and django-auditlog's
request context, which records the client's address on every model change). A session cookie
is never read on /scim/: `request.user` does not exist there, so nothing can act as the
signed-in browser user.
"""

from collections.abc import Callable
from typing import cast

from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponseBase
from django.urls import resolve
from django.utils.module_loading import import_string

SCIM_PREFIX = "/scim/"
# Applied to /scim/ requests, outermost first, as they stand in settings.MIDDLEWARE.
SCIM_MIDDLEWARE = (
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
)

Handler = Callable[[HttpRequest], HttpResponseBase]


def _view_response(request: HttpRequest) -> HttpResponseBase:
    match = resolve(request.path_info)
    request.resolver_match = match
    return match.func(request, *match.args, **match.kwargs)


def scim_handler() -> Handler:
    """The view behind SCIM_MIDDLEWARE; an exception anywhere becomes Django's response for
    it (a 404 for an unknown path), as in the full chain."""
    handler = convert_exception_to_response(_view_response)
    for path in reversed(SCIM_MIDDLEWARE):
        handler = convert_exception_to_response(import_string(path)(handler))
    return cast(Handler, handler)  # every piece is synchronous, as the view is


def scim_bearer_only(get_response: Handler) -> Handler:
    scim = scim_handler()

    def middleware(request: HttpRequest) -> HttpResponseBase:
        if request.path_info.startswith(SCIM_PREFIX):
            return scim(request)
        return get_response(request)

    return middleware
