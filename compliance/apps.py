from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from archive.services.archiving import after_archive
        from eim.chat.services.send_checks import send_check_register
        from eim.health import health_section

        from .review.notifications import notifications_raise
        from .review.services import after_review_change, review_items_raise
        from .scanning.send_check import send_time_findings
        from .scanning.stage import after_flags, scan_status
        from .scanning.tasks import scan_kick
        from .search.indexing import index_messages_after_commit, index_status
        from .tasks import index_kick

        after_archive(index_kick)
        after_archive(scan_kick)
        after_flags(review_items_raise)
        after_flags(notifications_raise)  # after the items: a notification names its item
        after_review_change(index_messages_after_commit)
        send_check_register(send_time_findings)
        health_section("index", index_status)
        health_section("scanning", scan_status)
