from django.urls import path

from . import views

urlpatterns = [
    path("roles/grants/", views.RoleGrantListView.as_view(), name="role-grants"),
    path("roles/requests/", views.RoleRequestListView.as_view(), name="role-requests"),
    path(
        "roles/requests/<int:request_id>/approve/",
        views.RoleRequestApproveView.as_view(),
        name="role-request-approve",
    ),
    path(
        "roles/requests/<int:request_id>/refuse/",
        views.RoleRequestRefuseView.as_view(),
        name="role-request-refuse",
    ),
    path("roles/revoke/", views.RoleRevokeView.as_view(), name="role-revoke"),
]
