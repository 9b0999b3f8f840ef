"""The console's information-barrier pages: a draft made, previewed (every violating
conversation, paged, with exact counts), decided and activated, withdrawn and deactivated, each
change told with its audit event, each refusal with nothing changed. Only the barrier services
write."""

import re

import pytest

from audit.models import AuditEvent, AuditEventType
from eim.chat.barriers.models import BarrierPolicy, BarrierVersionState
from eim.chat.models import Conversation, Membership
from tests.chat.barriers.conftest import World, chat_state, people, segment  # noqa: F401
from tests.factories import ChannelFactory, UserFactory, direct_conversation

from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _flashes(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def _seqs(event_type: AuditEventType) -> list[int]:
    return list(
        AuditEvent.objects.filter(event_type=event_type)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


def _draft(people: World, name: str = "MNPI wall") -> int:  # noqa: F811
    response = signed_in(people.admin).post(
        "/console/barriers/new/",
        {"name": name, "segment_a": people.research.pk, "segment_b": people.trading.pk},
    )
    assert response.status_code == 302
    return BarrierPolicy.objects.get(name=name).pk


def test_the_list_starts_empty_and_says_how_to_begin(people: World):  # noqa: F811
    page = signed_in(people.admin).get("/console/barriers/").content.decode()

    assert "No information barriers" in page
    assert "Research" in page  # the segment pickers offer the groups
    assert "Trading" in page


def test_a_draft_is_saved_with_its_audit_event_and_enforces_nothing(people: World):  # noqa: F811
    dm = direct_conversation(people.rita, people.tom)

    response = signed_in(people.admin).post(
        "/console/barriers/new/",
        {"name": "MNPI wall", "segment_a": people.research.pk, "segment_b": people.trading.pk},
        follow=True,
    )

    (seq,) = _seqs(AuditEventType.BARRIER_PROPOSED)
    assert _flashes(response) == [
        f"Draft policy MNPI wall saved; preview it before it takes effect — audit event #{seq}."
    ]
    assert "draft, not previewed" in response.content.decode()
    dm.refresh_from_db()
    assert dm.barrier_restricted is False


def test_a_refused_draft_changes_nothing_and_says_why(people: World):  # noqa: F811
    admin = signed_in(people.admin)
    admin.get("/console/barriers/")  # the session's console sign-in is recorded here
    before = (chat_state(), AuditEvent.objects.count(), BarrierPolicy.objects.count())

    response = admin.post(
        "/console/barriers/new/",
        {"name": "Same", "segment_a": people.research.pk, "segment_b": people.research.pk},
        follow=True,
    )

    assert _flashes(response) == ["Refused: a barrier is between two different groups"]
    assert (chat_state(), AuditEvent.objects.count(), BarrierPolicy.objects.count()) == before


def test_the_preview_lists_exactly_the_violating_conversations_paged(people: World):  # noqa: F811
    crossing = [direct_conversation(people.rita, people.tom)]
    crossing += [
        ChannelFactory(creator=people.ruth, name=f"desk-{n}", members=[people.tom])
        for n in range(54)
    ]
    ChannelFactory(creator=people.ruth, name="research-only", members=[people.rita])
    direct_conversation(people.tom, people.nina)
    policy_id = _draft(people)
    admin = signed_in(people.admin)

    ran = admin.post(f"/console/barriers/{policy_id}/preview/", follow=True)
    second = admin.get(f"/console/barriers/{policy_id}/preview/?page=2")

    (seq,) = _seqs(AuditEventType.BARRIER_PREVIEWED)
    assert _flashes(ran) == [f"Previewed — audit event #{seq}."]
    first_ids = [c.id for c in ran.context["found"].conversations]
    second_ids = [c.id for c in second.context["found"].conversations]
    assert sorted(first_ids + second_ids) == sorted(c.pk for c in crossing)
    assert (len(first_ids), len(second_ids)) == (50, 5)
    counts = ran.context["found"].counts
    assert (counts["conversations"], counts["direct"], counts["public"]) == (55, 1, 54)
    assert (counts["memberships_a"], counts["memberships_b"]) == (55, 55)
    assert "1\N{EN DASH}50 of 55" in ran.content.decode()
    assert "Next page" in ran.content.decode()
    assert "Next page" not in second.content.decode()
    assert "Decide and activate" in ran.content.decode()
    assert AuditEvent.objects.count() == seq  # paging through it records nothing more


def test_activating_removes_the_chosen_side_and_names_the_audit_event(people: World):  # noqa: F811
    dm = direct_conversation(people.rita, people.tom)
    channel = ChannelFactory(creator=people.ruth, name="desk", members=[people.tom, people.nina])
    policy_id = _draft(people)
    admin = signed_in(people.admin)
    admin.post(f"/console/barriers/{policy_id}/preview/")

    asked = admin.post(
        f"/console/barriers/{policy_id}/activate/", {"version": 1, "channels": "remove_segment_b"}
    )
    assert b"Put MNPI wall (version 1) in force?" in asked.content  # asked first, no JS
    assert not Conversation.objects.filter(barrier_restricted=True).exists()
    done = admin.post(
        f"/console/barriers/{policy_id}/activate/",
        {"version": 1, "channels": "remove_segment_b", "confirm": "yes"},
        follow=True,
    )

    (seq,) = _seqs(AuditEventType.BARRIER_ACTIVATED)
    assert _flashes(done)[-1] == f"MNPI wall is in force — audit event #{seq}."
    dm.refresh_from_db()
    assert dm.barrier_restricted is True
    assert set(
        Membership.objects.filter(conversation=channel).values_list("user__username", flat=True)
    ) == {"ruth", "nina"}
    assert "In force" in done.content.decode()


def test_activating_an_unpreviewed_draft_is_refused_with_nothing_changed(people: World):  # noqa: F811
    direct_conversation(people.rita, people.tom)
    policy_id = _draft(people)
    admin = signed_in(people.admin)
    admin.get("/console/barriers/")
    before = (chat_state(), AuditEvent.objects.count())

    response = admin.post(
        f"/console/barriers/{policy_id}/activate/",
        {"version": 1, "channels": "read_only", "confirm": "yes"},
        follow=True,
    )

    assert _flashes(response) == ["Refused: preview the proposal before it takes effect"]
    assert (chat_state(), AuditEvent.objects.count()) == before


def test_a_new_proposal_withdrawn_leaves_the_version_in_force(people: World):  # noqa: F811
    sales = UserFactory(username="sam")
    sales_group = segment("Sales", sales)
    policy_id = _draft(people)
    admin = signed_in(people.admin)
    admin.post(f"/console/barriers/{policy_id}/preview/")
    admin.post(
        f"/console/barriers/{policy_id}/activate/",
        {"version": 1, "channels": "read_only", "confirm": "yes"},
    )

    proposed = admin.post(
        f"/console/barriers/{policy_id}/propose/",
        {"segment_a": people.research.pk, "segment_b": sales_group.pk},
        follow=True,
    )
    withdrawn = admin.post(
        f"/console/barriers/{policy_id}/withdraw/", {"version": 2, "confirm": "yes"}, follow=True
    )

    assert re.fullmatch(
        r"New segments proposed; preview them before they take effect — audit event #\d+\.",
        _flashes(proposed)[-1],
    )
    assert re.fullmatch(r"Proposal withdrawn — audit event #\d+\.", _flashes(withdrawn)[-1])
    states = dict(BarrierPolicy.objects.get(pk=policy_id).versions.values_list("number", "state"))
    assert states == {1: BarrierVersionState.IN_FORCE, 2: BarrierVersionState.WITHDRAWN}


def test_deactivating_releases_what_it_made_read_only(people: World):  # noqa: F811
    dm = direct_conversation(people.rita, people.tom)
    policy_id = _draft(people)
    admin = signed_in(people.admin)
    admin.post(f"/console/barriers/{policy_id}/preview/")
    admin.post(
        f"/console/barriers/{policy_id}/activate/",
        {"version": 1, "channels": "read_only", "confirm": "yes"},
    )

    done = admin.post(f"/console/barriers/{policy_id}/deactivate/", {"confirm": "yes"}, follow=True)

    (seq,) = _seqs(AuditEventType.BARRIER_REMOVED)
    assert _flashes(done)[-1] == f"MNPI wall is deactivated — audit event #{seq}."
    dm.refresh_from_db()
    assert dm.barrier_restricted is False
    assert "No information barriers" in done.content.decode()


def test_a_policy_with_nothing_crossing_it_says_so(people: World):  # noqa: F811
    policy_id = _draft(people)

    page = signed_in(people.admin).post(f"/console/barriers/{policy_id}/preview/", follow=True)

    assert "Nothing crosses this barrier today" in page.content.decode()
