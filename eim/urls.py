from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.sso import urls as sso_urls
from accounts.sso import views as sso_views
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
    path("django-admin/", admin.site.urls),
    path("compliance/", include("compliance.urls")),
    path("", include("eim.chat.urls")),
]
