from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ledger import signing


class Command(BaseCommand):
    help = (
        "Print the public key (PEM) that verifies the archive's signed checkpoints: the signing "
        "key's, on the signer; elsewhere, the configured public key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        on_signer = settings.EIM_ARCHIVE_SIGNING_KEY or settings.EIM_ARCHIVE_SIGNING_KEY_FILE
        try:
            key = signing.signing_key().public_key() if on_signer else signing.current_public_key()
        except (ImproperlyConfigured, OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(signing.public_key_pem(key), ending="")
        self.stderr.write(f"key id (SHA-256 of the raw key): {signing.key_id(key)}")
