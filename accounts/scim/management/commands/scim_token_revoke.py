from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.scim.selectors import scim_token_by_name
from accounts.scim.services.tokens import scim_token_revoke


class Command(BaseCommand):
    help = "Revoke the SCIM token named NAME: its next request is refused."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: object, name: str, **options: object) -> None:
        token = scim_token_by_name(name=name)
        if token is None:
            raise CommandError(f"no SCIM token named {name!r}")
        if scim_token_revoke(token=token):
            self.stdout.write(f"SCIM token {name!r} revoked.")
        else:
            self.stdout.write(f"SCIM token {name!r} was revoked already.")
