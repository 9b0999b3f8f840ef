"""Demo people, channels and messages. Safe to run again: it changes nothing the second time."""

import os
import secrets
import uuid

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_grant_role
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
    ("carol", "Carol Compliance", [Role.COMPLIANCE_OFFICER]),
]
# Fixed client ids make the seeded messages idempotent through the normal send service.
SEED_NAMESPACE = uuid.UUID("6f1d7f62-7a55-4c43-9d38-3e3c1a0c5e11")
CONVERSATION_SCRIPT = [
    ("general", "alice", "Morning all! The **Q3 report** is on the shared drive."),
    ("general", "bob", "Thanks @alice, I'll have a look before the 10:00 call."),
    ("general", "alice", "Reminder: client calls are recorded, keep it professional."),
    ("trading-desk", "bob", "EUR/USD desk notes are up for today."),
    ("trading-desk", "alice", "Got it. Let's sync after the open."),
]


class Command(BaseCommand):
    help = "Create the demo users (alice, bob, admin, carol), channels and messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="password for every demo user")

    def handle(self, *args: object, password: str | None = None, **options: object) -> None:
        chosen = password or os.environ.get("EIM_DEMO_PASSWORD")
        generated = chosen is None
        with transaction.atomic():
            users = {name: self._person(name, full, roles) for name, full, roles in PEOPLE}
            created_passwords = [u for u in users.values() if not u.has_usable_password()]
            secret = chosen or secrets.token_urlsafe(9)
            for user in created_passwords:
                user.set_password(secret)
                user.save(update_fields=["password"])
        if password or os.environ.get("EIM_DEMO_PASSWORD"):
            self._reset_passwords(users.values(), password or os.environ["EIM_DEMO_PASSWORD"])
        self._conversations(users)
        self.stdout.write("Demo users: alice, bob (employees), admin, carol (compliance).")
        if generated and created_passwords:
            self.stdout.write(f"Demo password (all users): {secret}")
        elif generated:
            self.stdout.write("Demo users already had passwords; pass --password to reset them.")

    def _person(self, username: str, full_name: str, roles: list[Role]) -> User:
        user, created = User.objects.get_or_create(
            username=username, defaults={"display_name": full_name}
        )
        if created:
            user.set_unusable_password()
            user.save()
        for role in roles:
            user_grant_role(user=user, role=role)
        return user

    def _reset_passwords(self, users: object, password: str) -> None:
        for user in users:  # type: ignore[attr-defined]
            if not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])

    def _conversations(self, users: dict[str, User]) -> None:
        alice, bob = users["alice"], users["bob"]
        channels = {}
        for name, private in (("general", False), ("trading-desk", True)):
            existing = Conversation.objects.filter(name=name).first()
            channels[name] = existing or conversation_create_channel(
                creator=alice,
                name=name,
                private=private,
                topic="Company-wide chat" if name == "general" else "Desk chatter",
            )
        for channel in channels.values():
            membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[bob.pk])
        for index, (channel_name, author, body) in enumerate(CONVERSATION_SCRIPT):
            message_send(
                author=users[author],
                conversation_id=channels[channel_name].pk,
                body=body,
                client_id=uuid.uuid5(SEED_NAMESPACE, str(index)),
            )
        direct = conversation_open_direct(creator=alice, user_ids=[bob.pk])
        message_send(
            author=bob,
            conversation_id=direct.pk,
            body="Lunch at 12:30?",
            client_id=uuid.uuid5(SEED_NAMESPACE, "dm"),
        )
