from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import IdentityProvider
from accounts.scim.services.tokens import scim_token_create


class Command(BaseCommand):
    help = (
        "Create a SCIM bearer token for an identity provider's provisioning client; the token "
        "is the last line printed (shown once, stored hashed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="A name to tell the token by (default: made up).")
        parser.add_argument(
            "--provider",
            metavar="SLUG",
            help="Bind the token to this identity provider: people it creates with an "
            "externalId are linked to the provider's identities (SSO finds them).",
        )

    def handle(self, *args: object, name: str | None, provider: str | None, **options: object):  # type: ignore[no-untyped-def]
        bound = None
        if provider:
            bound = IdentityProvider.objects.filter(slug=provider).first()
            if bound is None:
                raise CommandError(f"no identity provider with slug {provider!r}")
        name = name or f"{provider or 'scim'}-{timezone.now():%Y%m%d%H%M%S}"
        try:
            token, secret = scim_token_create(name=name, provider=bound)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"SCIM token {token.name!r} (shown once, stored hashed):")
        if bound is not None:
            self.stdout.write(f"Bound to identity provider {bound.slug} ({bound.issuer})")
        self.stdout.write(secret)
