from django.urls import path

from . import channels, identity, people, scim_tokens, settings

urlpatterns = [
    path("people/", people.PeopleListView.as_view(), name="admin-people"),
    path("people/<int:user_id>/", people.PersonView.as_view(), name="admin-person"),
    path(
        "people/<int:user_id>/deactivate/",
        people.PersonDeactivateView.as_view(),
        name="admin-person-deactivate",
    ),
    path(
        "people/<int:user_id>/reactivate/",
        people.PersonReactivateView.as_view(),
        name="admin-person-reactivate",
    ),
    path(
        "people/<int:user_id>/sign-out/",
        people.PersonSignOutView.as_view(),
        name="admin-person-sign-out",
    ),
    path(
        "people/<int:user_id>/tokens/<str:token_key>/",
        people.PersonTokenView.as_view(),
        name="admin-person-token",
    ),
    path(
        "people/<int:user_id>/roles/revoke/",
        people.PersonRoleRevokeView.as_view(),
        name="admin-person-role-revoke",
    ),
    path("role-requests/", people.RoleRequestListView.as_view(), name="admin-role-requests"),
    path(
        "role-requests/<int:request_id>/approve/",
        people.RoleRequestApproveView.as_view(),
        name="admin-role-request-approve",
    ),
    path(
        "role-requests/<int:request_id>/refuse/",
        people.RoleRequestRefuseView.as_view(),
        name="admin-role-request-refuse",
    ),
    path("channels/", channels.ChannelListView.as_view(), name="admin-channels"),
    path("channels/<int:conversation_id>/", channels.ChannelView.as_view(), name="admin-channel"),
    path(
        "channels/<int:conversation_id>/members/",
        channels.ChannelMembersView.as_view(),
        name="admin-channel-members",
    ),
    path(
        "channels/<int:conversation_id>/members/<int:user_id>/",
        channels.ChannelMemberView.as_view(),
        name="admin-channel-member",
    ),
    path(
        "channels/<int:conversation_id>/archive/",
        channels.ChannelArchiveView.as_view(),
        name="admin-channel-archive",
    ),
    path(
        "channels/<int:conversation_id>/unarchive/",
        channels.ChannelUnarchiveView.as_view(),
        name="admin-channel-unarchive",
    ),
    path(
        "channels/<int:conversation_id>/owner/",
        channels.ChannelOwnerView.as_view(),
        name="admin-channel-owner",
    ),
    path("groups/", identity.GroupListView.as_view(), name="admin-groups"),
    path("groups/<int:group_id>/", identity.GroupView.as_view(), name="admin-group"),
    path(
        "groups/<int:group_id>/members/",
        identity.GroupMembersView.as_view(),
        name="admin-group-members",
    ),
    path(
        "groups/<int:group_id>/members/<int:user_id>/",
        identity.GroupMemberView.as_view(),
        name="admin-group-member",
    ),
    path(
        "identity-providers/", identity.ProviderListView.as_view(), name="admin-identity-providers"
    ),
    path(
        "identity-providers/<int:provider_id>/",
        identity.ProviderView.as_view(),
        name="admin-identity-provider",
    ),
    path(
        "identity-providers/<int:provider_id>/rules/",
        identity.ProviderRulesView.as_view(),
        name="admin-identity-provider-rules",
    ),
    path(
        "identity-providers/<int:provider_id>/rules/<int:rule_id>/",
        identity.ProviderRuleView.as_view(),
        name="admin-identity-provider-rule",
    ),
    path("scim-tokens/", scim_tokens.ScimTokenListView.as_view(), name="admin-scim-tokens"),
    path(
        "scim-tokens/<int:token_id>/",
        scim_tokens.ScimTokenView.as_view(),
        name="admin-scim-token",
    ),
    path("settings/", settings.SettingsView.as_view(), name="admin-settings"),
]
