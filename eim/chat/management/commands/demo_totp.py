"""Print the current TOTP code of the demo's privileged people (admin, dana, carol).

For the embedded default only: `seed_demo` keeps the demo secret in var/demo-totp-secret. In
a real deployment people use their own authenticator app and there is no such file.
"""

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand, CommandError

from .seed_demo import TOTP_FILE


class Command(BaseCommand):
    help = "Print the demo's current TOTP code (the secret seed_demo kept in var/)."

    def handle(self, *args: object, **options: object) -> None:
        if not TOTP_FILE.exists():
            raise CommandError(f"no demo TOTP secret at {TOTP_FILE}: run `make run` first")
        secret = TOTP_FILE.read_text().strip()
        counter = int(time.time()) // 30
        self.stdout.write(format_hotp_value(hotp_value(secret, counter)))
