from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from accounts.sign_in import PasswordSignInForm
from eim.api.docs import api_path_fallback
from eim.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=PasswordSignInForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("eim.api.urls")),
    path("api/v1/", include("compliance.api.urls")),
    path("api/v1/", include("accounts.api.urls")),
    # After every API route: a missing slash is answered with a 308, anything else a JSON 404.
    re_path(r"^api/v1/(?P<rest>[\s\S]*)\Z", api_path_fallback),
    path("scim/v2/", include("accounts.scim.urls")),
    path("django-admin/", admin.site.urls),
    path("compliance/", include("compliance.urls")),
    path("audit/", include("auditor.urls")),
    path("console/", include("console.urls")),
    path("api/v1/admin/", include("console.api.urls")),
    path("", include("eim.chat.urls")),
]
