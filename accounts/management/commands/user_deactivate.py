from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services import user_deactivate


class Command(BaseCommand):
    help = (
        "Deactivate USERNAME: their sessions, API tokens and open sockets end at once. "
        "--by names the administrator who asked (recorded in the audit trail)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--by", metavar="USERNAME", help="the administrator acting")

    def handle(self, *args: object, username: str, by: str | None, **options: object) -> None:
        user = _user(username)
        actor = _user(by) if by is not None else None
        try:
            changed = user_deactivate(user=user, by=actor)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        if changed:
            self.stdout.write(f"{username} is deactivated; their sessions and tokens have ended.")
        else:
            self.stdout.write(f"{username} was already inactive; nothing changed.")


def _user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist as exc:
        raise CommandError(f"no user named {username!r}") from exc
