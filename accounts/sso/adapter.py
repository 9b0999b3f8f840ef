"""allauth's adapters: where allauth asks the project what to do.

`SocialAccountAdapter.list_apps` builds allauth's SocialApp objects from the IdentityProvider
rows, in memory, on each request (docs/adr/0008-sso-provider-bridge.md): allauth's SocialApp
table stays empty, and a provider turned off is gone at once. `pre_social_login` replaces
allauth's account lookup (SocialAccount rows, e-mail matching) by `services.sso_sign_in`:
allauth then signs in an existing user, and its signup, e-mail and connect flows never run.
"""

import time
from typing import Any

from allauth.account import app_settings as allauth_account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.http import HttpRequest
from django.shortcuts import render

from accounts.models import IdentityProvider, IdentityProviderKind

from .saml import saml_app_settings
from .selectors import identity_provider_enabled, identity_providers_enabled, local_sign_in_allowed
from .services import SignInClaims, SignInRefusedError, sso_sign_in


def social_app(provider: IdentityProvider) -> SocialApp:
    """allauth's view of one IdentityProvider (never saved)."""
    config = provider.config
    if provider.kind == IdentityProviderKind.OIDC:
        return SocialApp(
            provider="openid_connect",
            provider_id=provider.slug,
            name=provider.name,
            client_id=config.get("client_id", ""),
            secret=config.get("client_secret", ""),
            settings={
                "server_url": config.get("discovery_url") or provider.issuer,
                "issuer": provider.issuer,
                "uid_field": config.get("subject_claim", "sub"),
                "scope": config.get("scopes", ["openid", "profile", "email"]),
                "fetch_userinfo": config.get("fetch_userinfo", False),
                "oauth_pkce_enabled": True,
                "token_auth_method": config.get("token_auth_method"),
            },
        )
    return SocialApp(
        provider="saml",
        provider_id=provider.slug,
        name=provider.name,
        client_id=provider.slug,
        settings=saml_app_settings(provider),
    )


def _matches(app: SocialApp, provider: str | None, client_id: str | None) -> bool:
    return (provider is None or provider in (app.provider, app.provider_id)) and (
        client_id is None or client_id == app.client_id
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        # allauth asks several times per request; the rows are read once per request.
        apps: list[SocialApp] | None = getattr(request, "_eim_social_apps", None)
        if apps is None:
            apps = [social_app(p) for p in identity_providers_enabled()]
            if request is not None:
                request._eim_social_apps = apps  # type: ignore[attr-defined]
        return [app for app in apps if _matches(app, provider, client_id)]

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        # Always a sign-in: never "connect" an IdP account to whoever is signed in now.
        sociallogin.state["process"] = AuthProcess.LOGIN
        provider = identity_provider_enabled(
            slug=sociallogin.account.get_provider().app.provider_id
        )
        if provider is None:
            raise ImmediateHttpResponse(_refusal(request, "This sign-in provider is turned off."))
        try:
            user = sso_sign_in(provider=provider, claims=_claims(provider, sociallogin))
        except SignInRefusedError as refusal:
            raise ImmediateHttpResponse(_refusal(request, refusal.message)) from refusal
        sociallogin.user = user
        sociallogin.account.user = user

    def can_authenticate_by_email(self, login: SocialLogin, email: str) -> bool:
        return False

    def authenticate_by_email(self, login: SocialLogin) -> None:
        return None

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False


def _claims(provider: IdentityProvider, sociallogin: SocialLogin) -> SignInClaims:
    data = sociallogin.account.extra_data
    if provider.kind == IdentityProviderKind.OIDC:
        info: dict[str, Any] = data.get("userinfo") or data.get("id_token") or {}
        groups = info.get(provider.groups_claim, []) if provider.groups_claim else []
        common = {
            "email": info.get("email") or "",
            "first_name": info.get("given_name") or "",
            "last_name": info.get("family_name") or "",
            "display_name": info.get("name") or "",
            "username": info.get("preferred_username") or "",
        }
    else:
        mapping = sociallogin.account.get_provider().app.settings["attribute_mapping"]
        groups = data.get(provider.groups_claim, []) if provider.groups_claim else []
        common = {
            "email": _attribute(data, mapping.get("email")),
            "first_name": _attribute(data, mapping.get("first_name")),
            "last_name": _attribute(data, mapping.get("last_name")),
            "display_name": _attribute(data, mapping.get("display_name")),
            "username": _attribute(data, mapping.get("username")),
        }
    if isinstance(groups, str):
        groups = [groups]
    return SignInClaims(
        subject=str(sociallogin.account.uid),
        groups=tuple(str(g) for g in groups if isinstance(g, str | int)),
        **{k: str(v) for k, v in common.items()},
    )


def _attribute(attributes: dict[str, Any], names: str | list[str] | None) -> str:
    for name in [names] if isinstance(names, str) else names or []:
        values = attributes.get(name) or []
        if values:
            return str(values[0])
    return ""


def _refusal(request: HttpRequest, message: str) -> Any:
    return render(request, "sso/refused.html", {"message": message}, status=403)


class AccountAdapter(DefaultAccountAdapter):
    def is_reauthentication_required(self, *, app: str = "") -> bool:
        """A password (or MFA) sign-in within the reauthentication timeout counts as recent:
        a privileged account sent to set up MFA right after signing in is not asked for its
        password again."""
        request = self.request
        if request is not None and request.user.is_authenticated:
            records = get_authentication_records(request, request.user)
            if records and records[-1]["method"] in {"password", "mfa"}:
                age = time.time() - records[-1]["at"]
                if age < allauth_account_settings.REAUTHENTICATION_TIMEOUT:
                    return False
        required: bool = super().is_reauthentication_required(app=app)
        return required

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # people come from the IdP (SSO, SCIM) or an administrator

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> Any:
        by_sso = "sociallogin" in (kwargs.get("signal_kwargs") or {})
        if not by_sso and not local_sign_in_allowed(user=user):
            return _refusal(request, "Sign in with your company account (single sign-on).")
        return super().pre_login(request, user, **kwargs)
