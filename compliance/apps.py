from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from archive.services.archiving import after_archive
        from eim.health import health_section

        from .search.indexing import index_status
        from .tasks import index_kick

        after_archive(index_kick)
        health_section("index", index_status)
