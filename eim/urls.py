from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from accounts.sso import urls as sso_urls
from accounts.sso import views as sso_views
from eim.api.docs import api_path_fallback
from eim.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Every sign-in goes through one page and allauth's flow (MFA, throttling), the admin's too.
    path("login/", sso_views.sign_in, name="login"),
    path("logout/", sso_views.sign_out, name="logout"),
    path("", include(sso_urls)),
    path(
        "django-admin/login/",
        RedirectView.as_view(pattern_name="login", query_string=True),
    ),
    *sso_urls.allauth_overrides,
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("eim.api.urls")),
    path("api/v1/", include("compliance.api.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/admin/", include("console.api.urls")),
    # After every API route: a missing slash is answered with a 308, anything else a JSON 404.
    re_path(r"^api/v1/(?P<rest>[\s\S]*)\Z", api_path_fallback),
    path("scim/v2/", include("accounts.scim.urls")),
    path("django-admin/", admin.site.urls),
    path("compliance/", include("compliance.urls")),
    path("audit/", include("auditor.urls")),
    path("console/", include("console.urls")),
    path("", include("eim.chat.urls")),
]
