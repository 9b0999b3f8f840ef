from django.core.management.base import BaseCommand, CommandParser

from accounts.management.roles import as_actor, user_named
from accounts.models import Role
from accounts.services.roles import role_revoke


class Command(BaseCommand):
    help = (
        "Revoke ROLE from USERNAME as the administrator --by; it ends at once, open sockets "
        "included. Refusals exit non-zero and are audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", help=", ".join(Role.values))
        parser.add_argument("--by", required=True, help="the administrator revoking")
        parser.add_argument("--reason", default="", help="why (kept in the audit trail)")

    def handle(
        self, *args: object, username: str, role: str, by: str, reason: str, **_: object
    ) -> None:
        actor, subject = user_named(by), user_named(username)
        as_actor(
            actor,
            lambda: role_revoke(actor=actor, user_id=subject.pk, role=role, reason=reason),
        )
        self.stdout.write(f"Revoked {role} from {username}.")
