from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from archive.services.database_roles import RoleGrantError, app_role_grant


class Command(BaseCommand):
    help = (
        "As the owner (DATABASE_URL = the owner's URL): give ROLE exactly the application's "
        "privileges: INSERT and SELECT only on the append-only tables, normal DML elsewhere. "
        "Run it after every migrate (deploy/release.py does); running it again changes nothing."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the application's PostgreSQL role (DATABASE_URL's user)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tables = app_role_grant(role=options["role"])
        except RoleGrantError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{options['role']}: the application's privileges on {len(tables)} tables; "
            "it can add to the append-only tables and change none of them"
        )
