from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.selectors import api_token_expiry
from accounts.services import api_token_create


class Command(BaseCommand):
    help = (
        "Create an API bearer token for USERNAME (it expires after EIM_API_TOKEN_TTL_DAYS); "
        "the token is the last line printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: object, username: str, **options: object) -> None:
        try:
            user = User.objects.get(username=username, is_active=True)
        except User.DoesNotExist as exc:
            raise CommandError(f"no active user named {username!r}") from exc
        token = api_token_create(user=user)
        expiry = api_token_expiry(secret=token)
        self.stdout.write(f"Token for {username} (shown once, stored hashed):")
        self.stdout.write(f"Expires: {expiry.isoformat() if expiry else 'never'}")
        self.stdout.write(token)
