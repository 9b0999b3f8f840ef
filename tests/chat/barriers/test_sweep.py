"""The periodic sweep mends what slipped past the checks: a join that raced an activation (its
barrier check ran before the policy was in force), a group change whose hook was lost. It
carries out the activation's recorded decision, audited; with nothing to do it writes nothing.
"""

from django.conf import settings

from accounts.models import GroupMembership
from audit.models import AuditEvent, AuditEventType
from eim.chat.barriers.sweep import barrier_sweep
from eim.chat.models import Conversation, ConversationEvent, EventType, Membership
from eim.chat.services import conversations
from eim.chat.tasks import barrier_sweep_task
from tests.factories import ChannelFactory, direct_conversation

from .conftest import World, barrier_in_force, chat_state


def _join_that_raced_the_activation(monkeypatch, conversation: Conversation, *people) -> None:  # type: ignore[no-untyped-def]
    """The outcome of a join whose barrier check ran just before the policy took effect."""
    with monkeypatch.context() as patched:
        patched.setattr(conversations, "barrier_joining", lambda **kwargs: None)
        conversations.membership_invite(
            actor=Membership.objects.get(conversation=conversation, role="owner").user,
            conversation_id=conversation.pk,
            user_ids=[p.pk for p in people],
        )


def _state() -> tuple[object, ...]:
    return (chat_state(), AuditEvent.objects.count(), ConversationEvent.objects.count())


def test_a_join_that_raced_a_read_only_activation_becomes_read_only(people: World, monkeypatch):
    desk = ChannelFactory(creator=people.rita, name="desk", members=[people.nina])
    barrier_in_force(people.admin, people.research, people.trading)
    _join_that_raced_the_activation(monkeypatch, desk, people.tom)

    mended = barrier_sweep()

    desk.refresh_from_db()
    assert desk.barrier_restricted is True
    event = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_SWEPT)
    assert event.actor_id is None
    assert event.details["restricted"] == [desk.pk]
    assert event.details["channels"] == "read_only"
    assert mended == {event.details["policy_id"]: event.details}
    notice = ConversationEvent.objects.filter(conversation=desk).order_by("-seq").first()
    assert notice is not None
    assert notice.payload["changes"] == ["read_only"]


def test_a_join_that_raced_a_removal_decision_is_removed(people: World, monkeypatch):
    desk = ChannelFactory(creator=people.rita, name="desk", members=[people.nina])
    barrier_in_force(people.admin, people.research, people.trading, channels="remove_segment_b")
    _join_that_raced_the_activation(monkeypatch, desk, people.tom)

    barrier_sweep()

    desk.refresh_from_db()
    assert set(Membership.objects.filter(conversation=desk).values_list("user_id", flat=True)) == {
        people.rita.pk,
        people.nina.pk,
    }
    assert desk.barrier_restricted is False
    left = ConversationEvent.objects.filter(conversation=desk, type=EventType.MEMBER_LEFT).get()
    assert left.payload["reason"] == "removed"
    event = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_SWEPT)
    assert event.details["removed"] == {str(desk.pk): [people.tom.pk]}


def test_lost_group_hooks_are_mended_both_ways(people: World):
    joined = direct_conversation(people.rita, people.nina)
    left = direct_conversation(people.ruth, people.tom)
    barrier_in_force(people.admin, people.research, people.trading)
    # nina joins Trading and tom leaves it, written without the group hook (as if lost).
    GroupMembership.objects.create(group=people.trading, user=people.nina)
    GroupMembership.objects.filter(group=people.trading, user=people.tom).delete()

    barrier_sweep()

    joined.refresh_from_db()
    left.refresh_from_db()
    assert (joined.barrier_restricted, left.barrier_restricted) == (True, False)
    event = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_SWEPT)
    assert (event.details["restricted"], event.details["released"]) == ([joined.pk], [left.pk])


def test_a_sweep_twice_is_a_sweep_once(people: World, monkeypatch):
    desk = ChannelFactory(creator=people.rita, name="desk", members=[people.nina])
    barrier_in_force(people.admin, people.research, people.trading)
    _join_that_raced_the_activation(monkeypatch, desk, people.tom)
    barrier_sweep()
    before = _state()

    assert barrier_sweep() == {}

    assert _state() == before


def test_a_sweep_with_nothing_to_do_writes_nothing(walled: World):
    direct_conversation(walled.rita, walled.ruth)
    ChannelFactory(creator=walled.tom, name="trading-floor", members=[walled.nina])
    before = _state()

    assert barrier_sweep_task() == 0

    assert _state() == before


def test_the_sweep_runs_on_a_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["barrier-sweep"]
    assert entry["task"] == "chat.barrier_sweep"
