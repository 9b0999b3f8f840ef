import getpass

from django.core.management.base import BaseCommand, CommandParser

from accounts.management.roles import as_actor, user_named
from accounts.services.roles import role_bootstrap


class Command(BaseCommand):
    help = (
        "Make USERNAME an administrator without an approving administrator: only while fewer "
        "than two active administrators exist (the first two, or a break-glass). Audited, "
        "with the operating-system user who ran it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: object, username: str, **_: object) -> None:
        subject = user_named(username)
        operator = getpass.getuser()
        as_actor(None, lambda: role_bootstrap(user_id=subject.pk, operator=operator))
        self.stdout.write(f"{username} is an administrator (bootstrap by {operator}).")
