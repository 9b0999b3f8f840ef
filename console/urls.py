from django.urls import path

from .views import barriers, channels, groups, home, people, providers, roles, scim_tokens, settings

app_name = "console"
urlpatterns = [
    path("", home.home, name="home"),
    path("people/", people.people_list, name="people"),
    path("people/<int:user_id>/", people.person_detail, name="person"),
    path("people/<int:user_id>/deactivate/", people.person_deactivate, name="person-deactivate"),
    path("people/<int:user_id>/reactivate/", people.person_reactivate, name="person-reactivate"),
    path("people/<int:user_id>/sign-out/", people.person_sign_out, name="person-sign-out"),
    path(
        "people/<int:user_id>/tokens/<str:token_key>/revoke/",
        people.person_token_revoke,
        name="person-token-revoke",
    ),
    path(
        "people/<int:user_id>/roles/request/",
        people.person_role_request,
        name="person-role-request",
    ),
    path(
        "people/<int:user_id>/roles/revoke/", people.person_role_revoke, name="person-role-revoke"
    ),
    path("roles/", roles.role_queue, name="roles"),
    path("roles/<int:request_id>/approve/", roles.role_approve, name="role-approve"),
    path("roles/<int:request_id>/refuse/", roles.role_refuse, name="role-refuse"),
    path("channels/", channels.channel_list, name="channels"),
    path("channels/<int:conversation_id>/", channels.channel_detail, name="channel"),
    path(
        "channels/<int:conversation_id>/members/add/",
        channels.channel_members_add,
        name="channel-members-add",
    ),
    path(
        "channels/<int:conversation_id>/members/<int:user_id>/remove/",
        channels.channel_member_remove,
        name="channel-member-remove",
    ),
    path(
        "channels/<int:conversation_id>/archive/", channels.channel_archive, name="channel-archive"
    ),
    path(
        "channels/<int:conversation_id>/unarchive/",
        channels.channel_unarchive,
        name="channel-unarchive",
    ),
    path(
        "channels/<int:conversation_id>/visibility/",
        channels.channel_visibility,
        name="channel-visibility",
    ),
    path(
        "channels/<int:conversation_id>/owner/",
        channels.channel_owner_transfer,
        name="channel-owner",
    ),
    path("groups/", groups.group_list, name="groups"),
    path("groups/new/", groups.group_create, name="group-create"),
    path("groups/<int:group_id>/", groups.group_detail, name="group"),
    path("groups/<int:group_id>/rename/", groups.group_rename, name="group-rename"),
    path("groups/<int:group_id>/delete/", groups.group_delete, name="group-delete"),
    path("groups/<int:group_id>/members/add/", groups.group_members_add, name="group-members-add"),
    path(
        "groups/<int:group_id>/members/<int:user_id>/remove/",
        groups.group_member_remove,
        name="group-member-remove",
    ),
    path("providers/", providers.provider_list, name="providers"),
    path("providers/new/", providers.provider_new, name="provider-new"),
    path("providers/<int:provider_id>/", providers.provider_edit, name="provider"),
    path("providers/<int:provider_id>/enable/", providers.provider_enable, name="provider-enable"),
    path(
        "providers/<int:provider_id>/rules/add/",
        providers.provider_rule_add,
        name="provider-rule-add",
    ),
    path(
        "providers/<int:provider_id>/rules/<int:rule_id>/remove/",
        providers.provider_rule_remove,
        name="provider-rule-remove",
    ),
    path("scim-tokens/", scim_tokens.scim_token_list, name="scim-tokens"),
    path("scim-tokens/new/", scim_tokens.scim_token_new, name="scim-token-new"),
    path(
        "scim-tokens/<int:token_id>/revoke/",
        scim_tokens.scim_token_revoke_view,
        name="scim-token-revoke",
    ),
    path("settings/", settings.workspace_settings_page, name="settings"),
    path("barriers/", barriers.barrier_list, name="barriers"),
    path("barriers/new/", barriers.barrier_create, name="barrier-create"),
    path("barriers/<int:policy_id>/", barriers.barrier_detail, name="barrier"),
    path("barriers/<int:policy_id>/propose/", barriers.barrier_propose, name="barrier-propose"),
    path("barriers/<int:policy_id>/preview/", barriers.barrier_preview, name="barrier-preview"),
    path("barriers/<int:policy_id>/activate/", barriers.barrier_activate, name="barrier-activate"),
    path("barriers/<int:policy_id>/withdraw/", barriers.barrier_withdraw, name="barrier-withdraw"),
    path(
        "barriers/<int:policy_id>/deactivate/",
        barriers.barrier_deactivate,
        name="barrier-deactivate",
    ),
]
