from typing import Any

from django.core.management.base import BaseCommand

from ledger import signing


class Command(BaseCommand):
    help = "Print the public key (PEM) that verifies the archive's signed checkpoints."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(signing.public_key_pem(), ending="")
        self.stderr.write(f"key id (SHA-256 of the raw key): {signing.key_id()}")
