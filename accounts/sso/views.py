"""The sign-in page (a button per enabled provider, and the local password form), sign-out
(with the IdP's logout offered), and the page that sends a privileged local account to MFA."""

from typing import Any
from urllib.parse import urlencode

from allauth.account.forms import LoginForm
from allauth.socialaccount.adapter import get_adapter
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.signals import session_length_apply
from accounts.workspace.selectors import workspace_settings

from .logout import idp_logout_url
from .selectors import identity_providers_enabled, local_sign_in_allowed, provider_origins


def safe_next(request: HttpRequest, url: str | None) -> str:
    """`url` if it stays on this site, else "" (an open redirect is refused, silently)."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def _providers(request: HttpRequest) -> list[dict[str, str]]:
    adapter = get_adapter(request)
    buttons = []
    for provider in identity_providers_enabled():
        app_provider = adapter.get_provider(request, provider.slug)
        buttons.append(
            {
                "name": provider.name,
                "slug": provider.slug,
                "url": app_provider.get_login_url(request),
            }
        )
    return buttons


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(
        request, request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    )
    if request.user.is_authenticated and request.method == "GET" and not next_url:
        return redirect("chat:home")
    form_errors = False
    if request.method == "POST":
        form = LoginForm(
            data={
                "login": request.POST.get("username", ""),
                "password": request.POST.get("password", ""),
            },
            request=request,
        )
        # Refused by the local sign-in setting: answered as a wrong password, so the page never
        # tells whether the password was right.
        if form.is_valid() and local_sign_in_allowed(user=form.user):
            response: HttpResponse = form.login(request, redirect_url=next_url or None)
            if request.user.is_authenticated:  # not yet when an MFA step follows
                session_length_apply(request)
            return response
        form_errors = True
    context: dict[str, Any] = {
        "next": next_url,
        "providers": _providers(request),
        "form_errors": form_errors,
        "local_sign_in": workspace_settings().local_sign_in,
        "username": request.POST.get("username", ""),
        "missing": request.method == "POST"
        and not (request.POST.get("username") and request.POST.get("password")),
    }
    page = render(request, "registration/login.html", context)
    # A provider's button posts here, and we redirect to the IdP: the browser holds that
    # redirect to this page's CSP form-action, which must name the IdPs.
    page._csp_update = {"form-action": provider_origins()}  # type: ignore[attr-defined]
    return page


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the session (the signed_out receiver closes the sockets), then offer the IdP's own
    sign-out when the session came from a provider that has one."""
    idp_url = idp_logout_url(request)
    logout(request)
    if idp_url:
        return render(request, "sso/signed_out.html", {"idp_url": idp_url})
    return HttpResponseRedirect(reverse("login"))


@never_cache
def mfa_required(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "sso/mfa_required.html",
        {"setup_url": reverse("mfa_activate_totp") + "?" + urlencode({"next": "/"})},
    )
