"""Test data built through the same services production uses, so every row has its events."""

import uuid
from typing import Any

import factory
from factory.django import DjangoModelFactory

from accounts.models import Role, User
from accounts.services import user_grant_role
from eim.chat.models import Conversation, Message
from eim.chat.services.conversations import (
    conversation_create_channel,
    conversation_open_direct,
    membership_invite,
)
from eim.chat.services.messages import message_send


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
        for role in extracted or [Role.EMPLOYEE]:
            user_grant_role(user=self, role=role)


class ChannelFactory(factory.Factory):
    """A channel created by `creator`, with `members` invited."""

    class Meta:
        model = Conversation

    creator = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"channel-{n}")
    private = False
    members: list[User] = []

    @classmethod
    def _create(
        cls, model_class: type, *, creator: User, name: str, private: bool, members: list[User]
    ) -> Conversation:
        conversation = conversation_create_channel(creator=creator, name=name, private=private)
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
