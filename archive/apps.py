from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "archive"
    verbose_name = "Immutable archive"

    def ready(self) -> None:
        from eim.chat.services.events import after_event_commit
        from eim.health import health_section

        from . import worker_checks  # noqa: F401 - connects the worker start-up check
        from .selectors import archive_status
        from .services.pipeline import archive_kick

        after_event_commit(archive_kick)
        health_section("archive", archive_status)
