"""People on both sides of a barrier: rita and ruth in Research, tom in Trading, nina in
neither; the policy "MNPI wall" bars Research from Trading."""

from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import Group, Role, User
from accounts.services.groups import group_create, group_members_add
from eim.chat.barriers.models import BarrierPolicyVersion
from eim.chat.barriers.services import (
    barrier_policy_activate,
    barrier_policy_create,
    barrier_policy_preview,
)
from eim.chat.models import (
    Attachment,
    Conversation,
    ConversationEvent,
    Membership,
    Message,
    Reaction,
)
from tests.factories import UserFactory

POLICY = "MNPI wall"


def segment(name: str, *people: User) -> Group:
    group = group_create(actor=None, display_name=name, via="test")
    group_members_add(actor=None, group=group, user_ids=[p.pk for p in people], via="test")
    return group


def barrier_in_force(
    admin: User, a: Group, b: Group, *, name: str = POLICY, channels: str = "read_only"
) -> BarrierPolicyVersion:
    version = barrier_policy_create(actor=admin, name=name, segment_a=a.pk, segment_b=b.pk)
    barrier_policy_preview(actor=admin, policy_id=version.policy_id)
    return barrier_policy_activate(
        actor=admin, policy_id=version.policy_id, version=version.number, channels=channels
    )


def chat_state() -> dict[str, Any]:
    """Everything a refused chat action must leave as it was."""
    return {
        "conversations": list(
            Conversation.objects.order_by("pk").values_list("pk", "last_seq", "barrier_restricted")
        ),
        "memberships": sorted(Membership.objects.values_list("conversation_id", "user_id")),
        "messages": sorted(Message.objects.values_list("pk", "body", "edited_at")),
        "reactions": Reaction.objects.count(),
        "attachments": Attachment.objects.count(),
        "events": ConversationEvent.objects.count(),
    }


@dataclass
class World:
    admin: User
    rita: User
    ruth: User
    tom: User
    nina: User
    research: Group
    trading: Group


@pytest.fixture
def people(db: None) -> World:
    return the_people()


def the_people() -> World:
    """rita and ruth in Research, tom in Trading, nina in neither; no policy yet."""
    rita, ruth, tom, nina = (UserFactory(username=n) for n in ("rita", "ruth", "tom", "nina"))
    return World(
        admin=UserFactory(username="ada", roles=[Role.ADMINISTRATOR]),
        rita=rita,
        ruth=ruth,
        tom=tom,
        nina=nina,
        research=segment("Research", rita, ruth),
        trading=segment("Trading", tom),
    )


@pytest.fixture
def walled(people: World) -> World:
    """The same people, with the barrier in force."""
    barrier_in_force(people.admin, people.research, people.trading)
    return people
