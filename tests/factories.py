"""Test data built through the same services production uses, so every row has its events."""

import io
import uuid
from pathlib import Path
from typing import Any

import factory
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import Role, RoleGrant, RoleRequest, User
from audit.models import AuditEvent, AuditEventType
from audit.services import audit_event_record
from eim.chat.models import (
    Attachment,
    Conversation,
    ConversationEvent,
    EventType,
    Membership,
    Message,
    Reaction,
)
from eim.chat.services.attachments import attachment_upload
from eim.chat.services.conversations import (
    conversation_create_channel,
    conversation_open_direct,
    membership_invite,
)
from eim.chat.services.messages import message_send


class RoleGrantFactory(DjangoModelFactory):
    """A role in effect, as if granted (and approved) through accounts.services.roles.

    Test data only, written behind the service's back so that tests of other features start
    from people who hold their roles without role audit events; the rules themselves are
    tested through the service in tests/accounts/test_roles.py.
    """

    class Meta:
        model = RoleGrant
        django_get_or_create = ("user", "role")

    role = Role.EMPLOYEE


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    password = factory.django.Password("pw-for-tests-1")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[Role] | None, **kwargs: Any) -> None:
        for role in [Role.EMPLOYEE] if extracted is None else extracted:
            RoleGrantFactory(user=self, role=role)


class ChannelFactory(factory.Factory):
    """A channel created by `creator`, with `members` invited."""

    class Meta:
        model = Conversation

    creator = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"channel-{n}")
    private = False
    history_visible = True
    members: list[User] = []

    @classmethod
    def _create(
        cls,
        model_class: type,
        *,
        creator: User,
        name: str,
        private: bool,
        history_visible: bool,
        members: list[User],
    ) -> Conversation:
        conversation = conversation_create_channel(
            creator=creator, name=name, private=private, history_visible=history_visible
        )
        if members:
            membership_invite(
                actor=creator, conversation_id=conversation.pk, user_ids=[m.pk for m in members]
            )
        conversation.refresh_from_db()
        return conversation


def direct_conversation(*people: User) -> Conversation:
    first, *others = people
    return conversation_open_direct(creator=first, user_ids=[u.pk for u in others])


def send(author: User, conversation: Conversation, body: str = "hello", **kwargs: Any) -> Message:
    kwargs.setdefault("client_id", uuid.uuid4())
    return message_send(author=author, conversation_id=conversation.pk, body=body, **kwargs).message


# --- Appended for the service and API suites -------------------------------------------------

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def staged_attachment(
    uploader: User,
    conversation: Conversation,
    content: bytes = b"quarterly numbers\n",
    filename: str = "notes.txt",
) -> Attachment:
    """An upload through the attachment service, not yet carried by a message."""
    return attachment_upload(
        user=uploader,
        conversation_id=conversation.pk,
        filename=filename,
        stream=io.BytesIO(content),
        size=len(content),
    )


class OutboxRowFactory(DjangoModelFactory):
    """An outbox row written behind the services' back: a conflicting writer, for fault tests."""

    class Meta:
        model = ConversationEvent

    conversation: Any = None
    seq = factory.LazyAttribute(lambda e: e.conversation.last_seq + 1)
    type = EventType.CONVERSATION_UPDATED
    actor = None
    payload = factory.LazyFunction(dict)
    audience = factory.LazyFunction(list)
    occurred_at = factory.LazyFunction(timezone.now)


def chat_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every chat row a refused request must leave alone; compare a snapshot before and after."""
    return {
        "conversations": list(
            Conversation.objects.order_by("pk").values_list(
                "pk",
                "name",
                "topic",
                "purpose",
                "kind",
                "archived_at",
                "history_visible",
                "last_seq",
            )
        ),
        "memberships": list(
            Membership.objects.order_by("pk").values_list(
                "conversation_id", "user_id", "role", "history_from_seq", "last_read_seq"
            )
        ),
        "messages": list(
            Message.objects.order_by("pk").values_list(
                "pk", "body", "edited_at", "deleted_at", "parent_id"
            )
        ),
        "events": list(ConversationEvent.objects.order_by("pk").values_list("pk", "type", "seq")),
        "reactions": list(
            Reaction.objects.order_by("pk").values_list("message_id", "user_id", "emoji")
        ),
        "attachments": list(
            Attachment.objects.order_by("pk").values_list("pk", "message_id", "sha256")
        ),
    }


def stored_files() -> list[Path]:
    """Every file in the media storage, to show that a refused upload stored nothing."""
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def role_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row a refused role change must leave alone."""
    return {
        "grants": list(RoleGrant.objects.order_by("pk").values_list("pk", "user_id", "role")),
        "requests": list(
            RoleRequest.objects.order_by("pk").values_list("pk", "user_id", "role", "status")
        ),
    }


def refusals() -> list[tuple[int | None, str]]:
    """(actor id, code) of every role change the rules refused, oldest first."""
    return list(
        AuditEvent.objects.filter(event_type=AuditEventType.ROLE_REFUSED)
        .order_by("pk")
        .values_list("actor_id", "details__code")
    )


def audited(
    actor: User | None, event_type: AuditEventType = AuditEventType.SEARCH_RUN, **details: Any
) -> AuditEvent:
    """An audit event recorded as every action records one: by the writer, in a transaction."""
    with transaction.atomic():
        return audit_event_record(actor=actor, event_type=event_type, details=details)
