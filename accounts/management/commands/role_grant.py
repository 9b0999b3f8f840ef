from django.core.management.base import BaseCommand, CommandParser

from accounts.management.roles import as_actor, user_named
from accounts.models import Role, RoleRequestStatus
from accounts.services.roles import role_request


class Command(BaseCommand):
    help = (
        "Request ROLE for USERNAME as the administrator --by. Employee takes effect at once; "
        "administrator, compliance officer and auditor wait for a second administrator "
        "(role_approve). Refused requests exit non-zero and are audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", help=", ".join(Role.values))
        parser.add_argument("--by", required=True, help="the administrator making the request")
        parser.add_argument("--reason", default="", help="why (kept with the request)")

    def handle(
        self, *args: object, username: str, role: str, by: str, reason: str, **_: object
    ) -> None:
        actor, subject = user_named(by), user_named(username)
        request = as_actor(
            actor,
            lambda: role_request(actor=actor, user_id=subject.pk, role=role, reason=reason),
        )
        if request.status == RoleRequestStatus.PENDING:
            self.stdout.write(
                f"Requested {role} for {username} (request {request.pk}); it takes effect when a "
                f"second administrator approves it before {request.expires_at:%Y-%m-%d %H:%M} UTC."
            )
        else:
            self.stdout.write(f"Granted {role} to {username}.")
