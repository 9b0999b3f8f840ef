from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "eim.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts.services.access import access_hook
        from accounts.services.groups import group_members_hook

        from . import signals  # noqa: F401 - connects the logout receiver
        from .barriers.restrictions import barrier_group_members_changed
        from .models import BarrierPolicy, BarrierPolicyVersion, Conversation, Membership
        from .services.access_changes import sockets_access_reduced

        access_hook(sockets_access_reduced)
        group_members_hook(barrier_group_members_changed)

        auditlog.register(Conversation, exclude_fields=["last_seq"])
        auditlog.register(Membership, exclude_fields=["last_read_seq"])
        auditlog.register(BarrierPolicy)
        auditlog.register(BarrierPolicyVersion)
