"""OpenID Connect through allauth, with what allauth leaves out: a `nonce` sent and checked,
PKCE always, the discovery document's issuer held to the configured one, and the ID token
checked by `id_token.id_token_verify` (signature included) however it arrived.

`SOCIALACCOUNT_PROVIDERS["openid_connect"]["provider_class"]` names the provider class below;
`urls.py` mounts the login and callback views below at allauth's own paths, ahead of allauth.
"""

import logging
import secrets
from typing import Any

import requests
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.utils import generate_code_challenge
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect import provider as allauth_provider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from .id_token import IdTokenRefusedError, id_token_verify

DISCOVERY_CACHE_SECONDS = 3600
logger = logging.getLogger(__name__)


class OpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    expected_nonce: str | None = None

    @property
    def openid_config(self) -> dict[str, Any]:
        if not hasattr(self, "_openid_config"):
            provider = self.get_provider()
            key = f"eim:sso:discovery:{provider.app.provider_id}:{provider.server_url}"
            config = cache.get(key)
            if config is None:
                config = super().openid_config
                if config.get("issuer") != provider.app.settings["issuer"]:
                    raise IdTokenRefusedError("the discovery document names another issuer")
                cache.set(key, config, DISCOVERY_CACHE_SECONDS)
            self._openid_config = config
        return dict(self._openid_config)

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        raw = kwargs["response"].get("id_token")
        if not raw:
            raise IdTokenRefusedError("the token endpoint sent no ID token")
        claims = id_token_verify(
            token=raw,
            jwks_uri=self.openid_config["jwks_uri"],
            issuer=app.settings["issuer"],
            client_id=app.client_id,
            nonce=self.expected_nonce,
        )
        data: dict[str, Any] = {"id_token": claims}
        if app.settings.get("fetch_userinfo"):
            userinfo = self._fetch_user_info(token.token)
            if userinfo.get("sub") != claims["sub"]:
                raise IdTokenRefusedError("userinfo names another subject than the ID token")
            data["userinfo"] = {**claims, **userinfo}
        return self.get_provider().sociallogin_from_response(request, data)


class OpenIDConnectProvider(allauth_provider.OpenIDConnectProvider):
    package = "allauth.socialaccount.providers.openid_connect"  # its URLs are allauth's

    def get_oauth2_adapter(self, request: HttpRequest) -> OpenIDConnectAdapter:
        return OpenIDConnectAdapter(request, self.app.provider_id)

    def get_pkce_params(self) -> dict[str, str]:
        return dict(generate_code_challenge())

    def redirect(
        self,
        request: HttpRequest,
        process: str,
        next_url: str | None = None,
        data: Any = None,
        **kwargs: Any,
    ) -> HttpResponse:
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None) or self.get_auth_params()
        auth_params["nonce"] = nonce
        response: HttpResponse = super().redirect(
            request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )
        return response


class CallbackView(OAuth2CallbackView):
    """allauth's callback, handing the state's nonce to the adapter before the token is read."""

    adapter: OpenIDConnectAdapter

    def _get_state(self, request: HttpRequest, provider: Any) -> tuple[Any, Any]:
        state, response = super()._get_state(request, provider)
        if state is not None:
            self.adapter.expected_nonce = state.get("nonce")
        return state, response

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response: HttpResponse = super().dispatch(request, *args, **kwargs)
        except (OAuth2Error, requests.RequestException) as exc:  # discovery, before its try
            from allauth.socialaccount.helpers import render_authentication_error

            return render_authentication_error(request, self.adapter.get_provider(), exception=exc)
        return response


def login(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        view = OAuth2LoginView.adapter_view(OpenIDConnectAdapter(request, provider_id))
        response: HttpResponse = view(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc
    except (OAuth2Error, requests.RequestException, ValueError):
        logger.exception("the sign-in provider %s could not be reached", provider_id)
        return render(
            request,
            "sso/refused.html",
            {"message": "Your company's sign-in service cannot be reached. Try again later."},
            status=502,
        )
    return response


def callback(request: HttpRequest, provider_id: str) -> HttpResponse | HttpResponseRedirect:
    try:
        view = CallbackView.adapter_view(OpenIDConnectAdapter(request, provider_id))
        response: HttpResponse = view(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc
    return response
