"""Demo people, channels and messages. Safe to run again: it changes nothing the second time.

Each part is seeded once, when what it makes is not there yet: a person's roles when the person
is created, a channel's members and messages when the channel is. So a later run never undoes
what people did since (left or archived a channel, had a role revoked) and never trips over it.
"""

import os
import secrets
import uuid
from pathlib import Path

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Role, RoleRequestStatus, User
from accounts.selectors import role_requests_pending_for_administrator, user_has_role
from accounts.services.roles import role_bootstrap, role_request, role_request_approve
from eim.chat.models import Conversation
from eim.chat.services.conversations import (
    conversation_create_channel,
    conversation_open_direct,
    membership_invite,
)
from eim.chat.services.messages import message_send

PEOPLE = [
    ("alice", "Alice Archer", [Role.EMPLOYEE]),
    ("bob", "Bob Baker", [Role.EMPLOYEE]),
    ("admin", "Ada Admin", [Role.ADMINISTRATOR]),
    ("dana", "Dana Deputy", [Role.ADMINISTRATOR]),
    ("carol", "Carol Compliance", [Role.COMPLIANCE_OFFICER]),
]
# Fixed client ids make the seeded messages idempotent through the normal send service.
PASSWORD_FILE = Path(settings.VAR_DIR) / "demo-password"
# The privileged demo people (administrators, compliance) sign in with a password and TOTP, as
# every privileged local account must (accounts/sso/middleware.py): one shared demo secret.
TOTP_FILE = Path(settings.VAR_DIR) / "demo-totp-secret"
SEED_NAMESPACE = uuid.UUID("6f1d7f62-7a55-4c43-9d38-3e3c1a0c5e11")
CONVERSATION_SCRIPT = [
    ("general", "alice", "Morning all! The **Q3 report** is on the shared drive."),
    ("general", "bob", "Thanks @alice, I'll have a look before the 10:00 call."),
    ("general", "alice", "Reminder: client calls are recorded, keep it professional."),
    ("trading-desk", "bob", "EUR/USD desk notes are up for today."),
    ("trading-desk", "alice", "Got it. Let's sync after the open."),
]


class Command(BaseCommand):
    help = "Create the demo users (alice, bob, admin, dana, carol), channels and messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="password for every demo user")

    def handle(self, *args: object, password: str | None = None, **options: object) -> None:
        secret, source = self._password(password)
        with transaction.atomic():
            people = {name: self._person(name, full) for name, full, _ in PEOPLE}
            users = {name: user for name, (user, _) in people.items()}
            for user in users.values():
                if not user.check_password(secret):
                    user.set_password(secret)
                    user.save(update_fields=["password"])
        self._roles(users, new={name for name, (_, created) in people.items() if created})
        totp = self._totp([users["admin"], users["dana"], users["carol"]])
        self._conversations(users)
        self.stdout.write(
            "Demo users: alice, bob (employees), admin, dana (administrators), carol (compliance)."
        )
        self.stdout.write(
            f"Demo TOTP secret (admin, dana, carol): {totp}  [kept in {TOTP_FILE}; "
            f"add it to an authenticator app, or: python manage.py demo_totp]"
        )
        self.stdout.write(f"Demo password (all users): {secret}  [{source}]")

    def _password(self, given: str | None) -> tuple[str, str]:
        """--password, else EIM_DEMO_PASSWORD, else one generated once and kept in var/."""
        if given:
            return given, "from --password"
        if os.environ.get("EIM_DEMO_PASSWORD"):
            return os.environ["EIM_DEMO_PASSWORD"], "from EIM_DEMO_PASSWORD"
        if PASSWORD_FILE.exists():
            return PASSWORD_FILE.read_text().strip(), f"kept in {PASSWORD_FILE}"
        secret = secrets.token_urlsafe(9)
        PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        PASSWORD_FILE.write_text(secret + "\n")
        PASSWORD_FILE.chmod(0o600)
        return secret, f"generated, kept in {PASSWORD_FILE}"

    def _totp(self, people: list[User]) -> str:
        """Give each privileged demo person a TOTP authenticator with the demo secret."""
        if TOTP_FILE.exists():
            secret = TOTP_FILE.read_text().strip()
        else:
            secret = generate_totp_secret()
            TOTP_FILE.parent.mkdir(parents=True, exist_ok=True)
            TOTP_FILE.write_text(secret + "\n")
            TOTP_FILE.chmod(0o600)
        with transaction.atomic():
            for user in people:
                if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP):
                    TOTP.activate(user, secret)
        return secret

    def _person(self, username: str, full_name: str) -> tuple[User, bool]:
        return User.objects.get_or_create(username=username, defaults={"display_name": full_name})

    def _roles(self, users: dict[str, User], *, new: set[str]) -> None:
        """Through the role service and its rules, as an operator would: the two administrators
        from the bootstrap, employees granted by admin, carol requested by admin and approved
        by dana (four eyes). Only for people created in this run: a role revoked since stays
        revoked."""
        admin, dana = users["admin"], users["dana"]
        for administrator in (admin, dana):
            fresh = administrator.username in new
            if fresh and not user_has_role(user=administrator, role=Role.ADMINISTRATOR):
                role_bootstrap(user_id=administrator.pk, operator="seed_demo")
        for name, _, roles in PEOPLE:
            for role in roles:
                if name not in new or role == Role.ADMINISTRATOR:
                    continue
                if not user_has_role(user=users[name], role=role):
                    self._grant(users[name], role, requester=admin, approver=dana)

    def _grant(self, user: User, role: Role, *, requester: User, approver: User) -> None:
        pending = role_requests_pending_for_administrator(actor=approver)
        request = pending.filter(user=user, role=role).first() or role_request(
            actor=requester, user_id=user.pk, role=role, reason="demo data"
        )
        if request.status == RoleRequestStatus.PENDING:
            role_request_approve(actor=approver, request_id=request.pk)

    def _conversations(self, users: dict[str, User]) -> None:
        alice, bob = users["alice"], users["bob"]
        for name, private in (("general", False), ("trading-desk", True)):
            if Conversation.objects.filter(name=name).exists():
                continue  # seeded before: what people did in it since is theirs
            channel = conversation_create_channel(
                creator=alice,
                name=name,
                private=private,
                topic="Company-wide chat" if name == "general" else "Desk chatter",
            )
            membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[bob.pk])
            for index, (channel_name, author, body) in enumerate(CONVERSATION_SCRIPT):
                if channel_name == name:
                    message_send(
                        author=users[author],
                        conversation_id=channel.pk,
                        body=body,
                        client_id=uuid.uuid5(SEED_NAMESPACE, str(index)),
                    )
        if not (alice.is_active and bob.is_active):
            return
        direct = conversation_open_direct(creator=alice, user_ids=[bob.pk])
        message_send(
            author=bob,
            conversation_id=direct.pk,
            body="Lunch at 12:30?",
            client_id=uuid.uuid5(SEED_NAMESPACE, "dm"),
        )
