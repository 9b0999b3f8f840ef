"""Where the IdP ends its own session: OIDC RP-initiated logout (`end_session_endpoint`) or a
SAML LogoutRequest to the IdP's SingleLogoutService, for the provider this session came from."""

from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp
from django.http import HttpRequest
from django.urls import reverse


def _session_provider(request: HttpRequest) -> str | None:
    records = [
        r
        for r in get_authentication_records(request, request.user)
        if r["method"] == "socialaccount"
    ]
    return str(records[-1]["provider"]) if records else None


def idp_logout_url(request: HttpRequest) -> str:
    """The URL that signs the person out at their IdP too, or "" when there is none."""
    slug = _session_provider(request)
    if slug is None:
        return ""
    try:
        provider = get_adapter(request).get_provider(request, slug)
    except SocialApp.DoesNotExist:
        return ""  # turned off since
    after = request.build_absolute_uri(reverse("login"))
    if provider.app.provider == "openid_connect":
        endpoint = provider.get_oauth2_adapter(request).openid_config.get("end_session_endpoint")
        if not endpoint:
            return ""
        query = {"client_id": provider.app.client_id, "post_logout_redirect_uri": after}
        return f"{endpoint}?{urlencode(query)}"
    if not provider.app.settings["idp"].get("slo_url"):
        return ""
    from allauth.socialaccount.providers.saml.utils import build_auth

    records = [
        r
        for r in get_authentication_records(request, request.user)
        if r["method"] == "socialaccount"
    ]
    auth = build_auth(request, provider)
    return str(auth.logout(return_to=after, name_id=records[-1].get("uid")))
