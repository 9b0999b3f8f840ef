"""A privileged local account without MFA can do nothing but set MFA up (or sign out).

Holders of administrator, compliance officer or auditor who signed in with a local password
must have an authenticator (TOTP or a security key). Until they have, every request but the
MFA pages, sign-out and static files is sent to the MFA page (403 for the API)."""

from collections.abc import Callable

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .selectors import user_is_privileged

OPEN_PREFIXES = ("/accounts/2fa/", "/logout/", "/static/", "/healthz", "/login/mfa-required/")


def _signed_in_by_password(request: HttpRequest) -> bool:
    """Every password sign-in goes through allauth's flow (the sign-in page; Django's admin
    login redirects there), which records it in the session."""
    methods = {r["method"] for r in get_authentication_records(request, request.user)}
    return "password" in methods and "socialaccount" not in methods


def mfa_missing(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_authenticated or not _signed_in_by_password(request):
        return False
    if not user_is_privileged(user=user):
        return False
    return not Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def mfa_required(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path.startswith(OPEN_PREFIXES) or not mfa_missing(request):
            return get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"error": {"code": "mfa_required", "message": "set up MFA first"}}, status=403
            )
        return redirect(reverse("sso:mfa_required"))

    return middleware
