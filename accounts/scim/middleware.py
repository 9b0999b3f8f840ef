"""/scim/ requests skip the middleware of cookie sign-in.

SCIM authenticates by bearer token only (`accounts.scim.views`), so sessions, CSRF, Django's
and allauth's authentication, messages, the MFA gate and django-axes have nothing to do there,
yet cost a push a fifth of its CPU (docs/performance.md, "SCIM push"). Placed just after the
security headers' middleware, this sends a /scim/ request through a short chain of its own:
what still applies to a JSON API (the Content-Security-Policy header, CommonMiddleware,
X-Frame-Options, and django-auditlog's request context, which records the client's address on
every model change). A session cookie is never read on /scim/: `request.user` does not exist
there, so nothing can act as the signed-in browser user.

The Content-Security-Policy headers are django-csp's own, built once per process
(`scim_csp`): a SCIM answer never carries a nonce or a per-view policy, so the policy is the
settings', and django-csp's middleware rebuilt the same string on every answer (4 % of a
creation's Django CPU).
"""

import http
from collections.abc import Callable
from typing import cast

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponseBase
from django.urls import resolve
from django.utils.module_loading import import_string

SCIM_PREFIX = "/scim/"
# Applied to /scim/ requests, outermost first, as they stand in settings.MIDDLEWARE.
SCIM_MIDDLEWARE = (
    "accounts.scim.middleware.scim_csp",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
)

Handler = Callable[[HttpRequest], HttpResponseBase]


def _csp_headers() -> tuple[tuple[str, str, str], ...]:
    """(header, policy, the response attribute that exempts from it), as django-csp's
    middleware sets them on a /scim/ answer."""
    found = []
    for header, setting, exempt, report_only in (
        (HEADER, "CONTENT_SECURITY_POLICY", "_csp_exempt", False),
        (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", "_csp_exempt_ro", True),
    ):
        policy = build_policy(report_only=report_only)
        excluded = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
        if policy and not SCIM_PREFIX.startswith(tuple(excluded)):
            found.append((header, policy, exempt))
    return tuple(found)


# django-csp leaves Django's debug pages alone.
_CSP_DEBUG_EXEMPT = (http.HTTPStatus.INTERNAL_SERVER_ERROR, http.HTTPStatus.NOT_FOUND)


def scim_csp(get_response: Handler) -> Handler:
    headers = _csp_headers()

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        if settings.DEBUG and response.status_code in _CSP_DEBUG_EXEMPT:
            return response
        for header, policy, exempt in headers:
            if header not in response and not getattr(response, exempt, False):
                response[header] = policy
        return response

    return middleware


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
