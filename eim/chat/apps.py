from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "eim.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts.services.access import access_hook

        from . import signals  # noqa: F401 - connects the logout receiver
        from .models import Conversation, Membership
        from .services.access_changes import sockets_access_reduced

        access_hook(sockets_access_reduced)

        auditlog.register(Conversation, exclude_fields=["last_seq"])
        auditlog.register(Membership, exclude_fields=["last_read_seq"])
