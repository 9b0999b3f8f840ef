"""The sign-in pages. allauth's own URLs (its SAML endpoints, MFA pages) are under /accounts/;
the OIDC login and callback below take allauth's paths first (accounts/sso/oidc.py)."""

from allauth.socialaccount.providers.saml import views as saml_views
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from . import oidc, views
from .throttle import sign_in_throttled

app_name = "sso"

urlpatterns = [
    path("login/mfa-required/", views.mfa_required, name="mfa_required"),
]


def _closed(request: HttpRequest, *args: object) -> HttpResponse:
    raise Http404("not offered: people come from the identity provider or an administrator")


# Mounted ahead of allauth's URLs at the same paths, so allauth's reverse() names resolve to
# these hardened views.
allauth_overrides = [
    # One sign-in page; no self-service signup, e-mail or password reset (SSO people have no
    # eim password, and a reset by e-mail would be a way around the IdP).
    path("accounts/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    re_path(
        r"^accounts/(signup|email|password|confirm-email|login/code|3rdparty/signup|3rdparty/$)",
        _closed,
    ),
    re_path(
        r"^accounts/oidc/(?P<provider_id>[^/]+)/",
        include(
            [
                path("login/", sign_in_throttled(oidc.login), name="openid_connect_login"),
                path(
                    "login/callback/",
                    sign_in_throttled(oidc.callback),
                    name="openid_connect_callback",
                ),
            ]
        ),
    ),
    # allauth's SAML views, throttled (accounts/sso/throttle.py); its other SAML URLs follow.
    re_path(
        r"^accounts/saml/(?P<organization_slug>[^/]+)/",
        include(
            [
                path("acs/", sign_in_throttled(saml_views.acs), name="saml_acs"),
                path(
                    "acs/finish/", sign_in_throttled(saml_views.finish_acs), name="saml_finish_acs"
                ),
                path("login/", sign_in_throttled(saml_views.login), name="saml_login"),
            ]
        ),
    ),
]
