"""/scim/v2/...: a trailing slash is optional, as identity providers differ."""

from collections.abc import Callable

from django.http import HttpResponseBase
from django.urls import re_path

from . import resources, views

app_name = "scim"


def _unsupported(feature: str) -> Callable[..., HttpResponseBase]:
    return views.UnsupportedView.as_view(feature=feature)


urlpatterns = [
    # Optional features not offered (RFC 7644 §3.12: 501), ahead of /Users/<id>.
    re_path(r"^Me(/.*)?$", _unsupported("/Me (the authenticated subject)")),
    re_path(r"^Bulk/?$", _unsupported("/Bulk")),
    re_path(r"^(Users/|Groups/)?\.search/?$", _unsupported("/.search (searching by POST)")),
    re_path(r"^ServiceProviderConfig/?$", views.ServiceProviderConfigView.as_view()),
    re_path(r"^ResourceTypes/?$", views.ResourceTypesView.as_view()),
    re_path(r"^ResourceTypes/(?P<item_id>[^/]+)/?$", views.ResourceTypesView.as_view()),
    re_path(r"^Schemas/?$", views.SchemasView.as_view()),
    re_path(r"^Schemas/(?P<item_id>[^/]+)/?$", views.SchemasView.as_view()),
    re_path(r"^Users/?$", resources.UsersView.as_view(), name="users"),
    re_path(r"^Users/(?P<user_id>[^/]+)/?$", resources.UserView.as_view(), name="user"),
    re_path(r"^Groups/?$", resources.GroupsView.as_view(), name="groups"),
    re_path(r"^Groups/(?P<group_id>[^/]+)/?$", resources.GroupView.as_view(), name="group"),
]
