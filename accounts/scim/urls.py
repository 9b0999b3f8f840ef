"""/scim/v2/...: a trailing slash is optional, as identity providers differ."""

from django.urls import re_path

from . import resources, views

app_name = "scim"

urlpatterns = [
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
