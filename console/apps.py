from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The administrator's console: pages under /console/ and the API under /api/v1/admin/.

    The top of the dependency order: it calls the services and selectors of every other app
    and nothing imports it.
    """

    name = "console"
    verbose_name = "Administrator's console"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - records web sign-ins for the sessions list
