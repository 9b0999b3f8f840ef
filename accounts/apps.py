from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Identity and roles"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import signals  # noqa: F401 - connects the receivers
        from .models import RoleGrant, RoleRequest, User

        auditlog.register(User, exclude_fields=["password", "last_login", "session_generation"])
        auditlog.register(RoleGrant)
        auditlog.register(RoleRequest)
