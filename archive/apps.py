from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "archive"
    verbose_name = "Immutable archive"

    def ready(self) -> None:
        from eim.chat.services.events import after_event_commit

        from . import worker_checks  # noqa: F401 - connects the worker start-up check
        from .services.pipeline import archive_kick

        after_event_commit(archive_kick)
