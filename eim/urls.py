from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from eim.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("eim.api.urls")),
    path("api/v1/", include("compliance.api.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("scim/v2/", include("accounts.scim.urls")),
    path("django-admin/", admin.site.urls),
    path("compliance/", include("compliance.urls")),
    path("", include("eim.chat.urls")),
]
