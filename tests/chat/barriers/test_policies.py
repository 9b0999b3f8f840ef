"""Policies take effect in three audited steps (propose, preview, activate); the preview lists
exactly the violating conversations; the decision is carried out; later group changes are
re-evaluated; removal releases what the policy restricted."""

import pytest

from accounts.models import Role
from accounts.services.groups import group_members_add, group_members_remove
from audit.models import AuditEvent, AuditEventType
from eim.chat.barriers.models import BarrierPolicy, BarrierPolicyVersion, BarrierRestriction
from eim.chat.barriers.services import (
    barrier_policy_activate,
    barrier_policy_create,
    barrier_policy_preview,
    barrier_policy_propose,
    barrier_policy_remove,
)
from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import Conversation, Membership
from tests.factories import ChannelFactory, UserFactory, direct_conversation

from .conftest import barrier_in_force, chat_state, segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def before_the_wall(people):
    """Conversations that exist before any policy: which of them the wall would violate."""
    p = people
    return {
        "dm_across": direct_conversation(p.rita, p.tom),
        "group_across": direct_conversation(p.nina, p.ruth, p.tom),
        "channel_across": ChannelFactory(creator=p.nina, members=[p.rita, p.tom], name="desk"),
        "dm_same_side": direct_conversation(p.rita, p.ruth),
        "dm_neutral": direct_conversation(p.tom, p.nina),
        "channel_one_side": ChannelFactory(creator=p.rita, members=[p.ruth, p.nina], name="lab"),
    }


def _violating(convs: dict) -> set[int]:
    return {convs[k].pk for k in ("dm_across", "group_across", "channel_across")}


def test_the_preview_lists_exactly_the_violating_conversations_with_counts(people, before_the_wall):
    version = barrier_policy_create(
        actor=people.admin, name="wall", segment_a=people.research.pk, segment_b=people.trading.pk
    )
    _, found = barrier_policy_preview(actor=people.admin, policy_id=version.policy_id)

    assert {c.id for c in found.conversations} == _violating(before_the_wall)
    assert found.counts == {
        "conversations": 3,
        "public": 1,
        "private": 0,
        "direct": 1,
        "group": 1,
        "memberships_a": 3,  # rita in the DM and the channel, ruth in the group
        "memberships_b": 3,  # tom in all three
    }
    channel = next(c for c in found.conversations if c.kind == "public")
    assert [m["username"] for m in channel.segment_a_members] == ["rita"]
    assert [m["username"] for m in channel.segment_b_members] == ["tom"]


def test_a_proposal_is_not_enforced_before_it_is_activated(people, before_the_wall):
    state = chat_state()
    version = barrier_policy_create(
        actor=people.admin, name="wall", segment_a=people.research.pk, segment_b=people.trading.pk
    )
    barrier_policy_preview(actor=people.admin, policy_id=version.policy_id)

    assert chat_state() == state
    assert direct_conversation(people.ruth, people.tom).pk  # not yet barred


def test_activation_without_a_preview_is_refused_and_changes_nothing(people, before_the_wall):
    version = barrier_policy_create(
        actor=people.admin, name="wall", segment_a=people.research.pk, segment_b=people.trading.pk
    )
    state = chat_state()
    with pytest.raises(ChatError) as caught:
        barrier_policy_activate(
            actor=people.admin, policy_id=version.policy_id, version=1, channels="read_only"
        )
    assert caught.value.code == ErrorCode.CONFLICT
    assert chat_state() == state
    assert BarrierPolicyVersion.objects.get().state == "proposed"


def test_activation_of_another_version_than_the_previewed_one_is_refused(people, before_the_wall):
    version = barrier_policy_create(
        actor=people.admin, name="wall", segment_a=people.research.pk, segment_b=people.trading.pk
    )
    barrier_policy_preview(actor=people.admin, policy_id=version.policy_id)
    state = chat_state()
    with pytest.raises(ChatError) as caught:
        barrier_policy_activate(
            actor=people.admin, policy_id=version.policy_id, version=2, channels="read_only"
        )
    assert caught.value.code == ErrorCode.CONFLICT
    assert chat_state() == state


def test_read_only_decision_restricts_every_violating_conversation_and_is_audited(
    people, before_the_wall
):
    version = barrier_in_force(people.admin, people.research, people.trading)

    restricted = set(
        Conversation.objects.filter(barrier_restricted=True).values_list("pk", flat=True)
    )
    assert restricted == _violating(before_the_wall)
    event = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_ACTIVATED)
    assert event.actor == people.admin
    assert event.details["channels"] == "read_only"
    assert set(event.details["restricted"]) == restricted
    assert version.state == "in_force"
    assert [e.event_type for e in AuditEvent.objects.order_by("seq")][-3:] == [
        AuditEventType.BARRIER_PROPOSED,
        AuditEventType.BARRIER_PREVIEWED,
        AuditEventType.BARRIER_ACTIVATED,
    ]


def test_removing_a_segment_from_channels_keeps_them_writable_and_restricts_direct_messages(
    people, before_the_wall
):
    barrier_in_force(people.admin, people.research, people.trading, channels="remove_segment_b")

    channel = before_the_wall["channel_across"]
    channel.refresh_from_db()
    assert not Membership.objects.filter(conversation=channel, user=people.tom).exists()
    assert not channel.barrier_restricted
    restricted = set(
        Conversation.objects.filter(barrier_restricted=True).values_list("pk", flat=True)
    )
    assert restricted == {before_the_wall["dm_across"].pk, before_the_wall["group_across"].pk}
    event = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_ACTIVATED)
    assert event.details["removed"] == {str(channel.pk): [people.tom.pk]}


def test_someone_joining_a_segment_later_makes_their_conversations_across_it_read_only(
    people, django_capture_on_commit_callbacks
):
    barrier_in_force(people.admin, people.research, people.trading)
    dm = direct_conversation(people.nina, people.rita)

    with django_capture_on_commit_callbacks(execute=True):
        group_members_add(actor=None, group=people.trading, user_ids=[people.nina.pk], via="scim")

    dm.refresh_from_db()
    assert dm.barrier_restricted
    event = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_REEVALUATED)
    assert event.details["restricted"] == [dm.pk]
    assert event.details["via"] == "group_change"

    with django_capture_on_commit_callbacks(execute=True):
        group_members_remove(
            actor=None, group=people.trading, user_ids=[people.nina.pk], via="scim"
        )
    dm.refresh_from_db()
    assert not dm.barrier_restricted


def test_removing_a_policy_releases_its_read_only_conversations(people, before_the_wall):
    version = barrier_in_force(people.admin, people.research, people.trading)
    barrier_policy_remove(actor=people.admin, policy_id=version.policy_id)

    assert not Conversation.objects.filter(barrier_restricted=True).exists()
    assert not BarrierRestriction.objects.exists()
    assert direct_conversation(people.ruth, people.tom).pk
    event = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_REMOVED)
    assert set(event.details["released"]) == _violating(before_the_wall)


def test_a_change_of_segments_is_previewed_while_the_version_in_force_stays_enforced(
    people, before_the_wall
):
    version = barrier_in_force(people.admin, people.research, people.trading)
    compliance = segment("Compliance", people.nina)
    barrier_policy_propose(
        actor=people.admin,
        policy_id=version.policy_id,
        segment_a=people.research.pk,
        segment_b=compliance.pk,
    )
    with pytest.raises(ChatError):
        direct_conversation(people.ruth, people.tom)  # version 1 still in force

    _, found = barrier_policy_preview(actor=people.admin, policy_id=version.policy_id)
    barrier_policy_activate(
        actor=people.admin, policy_id=version.policy_id, version=2, channels="read_only"
    )

    expected = {
        before_the_wall[k].pk for k in ("group_across", "channel_across", "channel_one_side")
    }
    assert {c.id for c in found.conversations} == expected
    restricted = set(
        Conversation.objects.filter(barrier_restricted=True).values_list("pk", flat=True)
    )
    assert restricted == expected  # the DM of rita and tom was released
    assert direct_conversation(people.ruth, people.tom).pk


@pytest.mark.parametrize("role", [None, Role.COMPLIANCE_OFFICER, Role.AUDITOR])
def test_only_an_administrator_creates_a_policy(people, role):
    outsider = UserFactory(username="outsider", roles=[role] if role else [])
    events = AuditEvent.objects.count()
    with pytest.raises(ChatError) as caught:
        barrier_policy_create(
            actor=outsider, name="wall", segment_a=people.research.pk, segment_b=people.trading.pk
        )
    assert caught.value.code == ErrorCode.FORBIDDEN
    assert not BarrierPolicy.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_deactivated_administrator_cannot_activate(people, before_the_wall):
    version = barrier_policy_create(
        actor=people.admin, name="wall", segment_a=people.research.pk, segment_b=people.trading.pk
    )
    barrier_policy_preview(actor=people.admin, policy_id=version.policy_id)
    people.admin.is_active = False
    people.admin.save(update_fields=["is_active"])
    state = chat_state()
    with pytest.raises(ChatError):
        barrier_policy_activate(
            actor=people.admin, policy_id=version.policy_id, version=1, channels="read_only"
        )
    assert chat_state() == state


@pytest.mark.parametrize(
    ("name", "a", "b"),
    [("", "research", "trading"), ("wall", "research", "research"), ("wall", "research", None)],
)
def test_bad_policies_are_refused_clearly(people, name, a, b):
    segment_a = getattr(people, a).pk
    segment_b = getattr(people, b).pk if b else 999999
    with pytest.raises(ChatError) as caught:
        barrier_policy_create(
            actor=people.admin, name=name, segment_a=segment_a, segment_b=segment_b
        )
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert not BarrierPolicy.objects.exists()


def test_deleting_a_segment_releases_what_it_restricted_and_bars_nobody(
    people, before_the_wall, django_capture_on_commit_callbacks
):
    from accounts.services.groups import group_delete

    barrier_in_force(people.admin, people.research, people.trading)
    with django_capture_on_commit_callbacks(execute=True):
        group_delete(actor=people.admin, group=people.trading)

    assert not Conversation.objects.filter(barrier_restricted=True).exists()
    assert direct_conversation(people.ruth, people.tom).pk
    version = BarrierPolicyVersion.objects.get(state="in_force")
    assert version.segment_b is None
