from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "archive"
    verbose_name = "Immutable archive"

    def ready(self) -> None:
        from django.core.checks import Tags, register

        from eim.chat.services.events import after_event_commit
        from eim.health import health_section
        from eim.startup import START_UP

        from . import worker_checks  # noqa: F401 - connects the worker start-up check
        from .checks import database_role_check
        from .database_roles import database_role_status
        from .selectors import archive_status
        from .services.pipeline import archive_kick

        after_event_commit(archive_kick)
        health_section("archive", archive_status)
        health_section("database_role", database_role_status)
        register(database_role_check, START_UP, Tags.database, deploy=True)
