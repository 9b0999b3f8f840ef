from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.management.roles import as_actor, user_named
from accounts.models import Role
from accounts.selectors import role_request_pending_id
from accounts.services.roles import role_request_approve


class Command(BaseCommand):
    help = (
        "Approve the pending request for USERNAME to hold ROLE, as the administrator --by (who "
        "must not be the requester nor USERNAME). Refusals exit non-zero and are audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", help=", ".join(Role.values))
        parser.add_argument("--by", required=True, help="the approving administrator")

    def handle(self, *args: object, username: str, role: str, by: str, **_: object) -> None:
        actor, subject = user_named(by), user_named(username)
        request_id = role_request_pending_id(user=subject, role=role)
        if request_id is None:
            raise CommandError(f"no pending request for {username} to hold {role!r}")
        as_actor(actor, lambda: role_request_approve(actor=actor, request_id=request_id))
        self.stdout.write(f"Approved: {username} now holds {role}.")
