from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Identity and roles"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import signals  # noqa: F401 - connects the receivers
        from .models import RoleGrant, RoleRequest, User
        from .services.access import access_hook
        from .services.groups import group_members_hook, group_renamed_hook
        from .services.role_mapping import (
            role_mapping_access_changed,
            role_mapping_group_members_changed,
            role_mapping_group_renamed,
        )

        group_members_hook(role_mapping_group_members_changed)
        group_renamed_hook(role_mapping_group_renamed)
        access_hook(role_mapping_access_changed)

        # `scim` and `chat_preferences` are reverse one-to-ones (the SCIM profile, the chat
        # choices): diffing each cost a query on every save and never records a change of the
        # person's row (those rows are audited, or not, on their own).
        auditlog.register(
            User,
            exclude_fields=[
                "password",
                "last_login",
                "session_generation",
                "scim",
                "chat_preferences",
            ],
        )
        auditlog.register(RoleGrant)
        auditlog.register(RoleRequest)
