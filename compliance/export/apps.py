from django.apps import AppConfig


class ExportConfig(AppConfig):
    name = "compliance.export"
    label = "compliance_export"
    verbose_name = "Compliance export"
    default_auto_field = "django.db.models.BigAutoField"
