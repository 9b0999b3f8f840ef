"""The review workflow over the API: claim, decide with a comment, escalate, reopen, bulk;
nobody reviews their own messages or a conversation they took part in; opening is a view."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from archive.services.archiving import archive_pending
from audit.models import AuditEvent, AuditEventType
from compliance.models import ReviewItem, ReviewStep
from compliance.review.services import review_claims_expire
from compliance.scanning.stage import scan_pending
from tests.compliance.scanning.conftest import make_policy
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

ITEMS = "/api/v1/compliance/review/items"


@pytest.fixture
def reviewer(db):
    return UserFactory(username="rita", roles=[Role.COMPLIANCE_OFFICER])


def flag_messages(author, bodies, *, officer, members=()) -> list[ReviewItem]:
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=author, members=list(members))
    for body in bodies:
        send(author, channel, body)
    archive_pending()
    scan_pending()
    return list(ReviewItem.objects.order_by("pk"))


def review_state() -> list[tuple]:
    items = ReviewItem.objects.order_by("pk").values_list(
        "pk", "queue", "state", "claimed_by", "decision"
    )
    return [*items, ReviewStep.objects.count()]


def audit_types() -> list[str]:
    rows = AuditEvent.objects.filter(event_type__startswith="review.").order_by("seq")
    return list(rows.values_list("event_type", flat=True))


def test_the_queue_shows_flagged_messages_oldest_first_with_their_policies(alice, officer):
    flag_messages(alice, ["I guarantee it", "fine", "guarantee again"], officer=officer)

    items = api_as(officer).get(ITEMS).json()["items"]

    assert [i["state"] for i in items] == ["new", "new"]
    assert items[0]["policies"] == ["Promises"]
    assert items[0]["occurred_at"] < items[1]["occurred_at"]


def test_opening_an_item_is_a_view_not_a_review(alice, bob, officer):
    [item] = flag_messages(alice, ["before", "I guarantee it", "after"], officer=officer)
    before = review_state()

    opened = api_as(officer).get(f"{ITEMS}/{item.pk}").json()

    assert opened["flags"][0]["text"] == "I guarantee it"
    assert opened["flags"][0]["hits"][0]["text"] == "guarantee"
    assert [m["body"] for m in opened["context"]["before"]] == ["before"]
    assert [m["body"] for m in opened["context"]["after"]] == ["after"]
    assert review_state() == before
    assert audit_types() == [AuditEventType.REVIEW_VIEWED]


def test_an_item_says_where_it_is_a_channel_by_name_a_direct_message_by_its_people(
    alice, bob, officer
):
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice, members=[bob], name="Trading-Desk")
    send(alice, channel, "I guarantee it")
    send(bob, direct_conversation(alice, bob), "guarantee, as promised")
    archive_pending()
    scan_pending()

    opened = [
        api_as(officer).get(f"{ITEMS}/{item.pk}").json()["conversation"]
        for item in ReviewItem.objects.order_by("pk")
    ]

    assert [(c["name"], c["members"]) for c in opened] == [
        ("trading-desk", ["alice", "bob"]),
        ("", ["alice", "bob"]),
    ]


def test_claim_then_decide_with_a_comment_closes_the_item_audited(alice, officer):
    [item] = flag_messages(alice, ["I guarantee it"], officer=officer)
    client = api_as(officer)

    claimed = client.post(f"{ITEMS}/{item.pk}/claim")
    decided = client.post(
        f"{ITEMS}/{item.pk}/decide",
        {"decision": "false_positive", "comment": "a figure of speech"},
        format="json",
    )

    assert (claimed.json()["state"], claimed.json()["claimed_by"]) == ("claimed", "olivia")
    assert (decided.json()["state"], decided.json()["decision"]) == ("closed", "false_positive")
    assert audit_types() == [AuditEventType.REVIEW_CLAIMED, AuditEventType.REVIEW_DECIDED]
    decision = AuditEvent.objects.get(event_type=AuditEventType.REVIEW_DECIDED)
    assert decision.details["comment"] == "a figure of speech"


def test_a_decision_needs_a_comment_and_a_known_decision(alice, officer):
    [item] = flag_messages(alice, ["I guarantee it"], officer=officer)
    before = review_state()

    blank = api_as(officer).post(
        f"{ITEMS}/{item.pk}/decide", {"decision": "no_issue", "comment": " "}, format="json"
    )
    unknown = api_as(officer).post(
        f"{ITEMS}/{item.pk}/decide", {"decision": "ignore", "comment": "x"}, format="json"
    )

    assert (blank.status_code, unknown.status_code) == (400, 400)
    assert "comment" in blank.json()["detail"]
    assert review_state() == before


def test_an_item_claimed_by_one_reviewer_is_refused_to_another(alice, officer, reviewer):
    [item] = flag_messages(alice, ["I guarantee it"], officer=officer)
    api_as(officer).post(f"{ITEMS}/{item.pk}/claim")
    before = review_state()

    response = api_as(reviewer).post(
        f"{ITEMS}/{item.pk}/decide", {"decision": "no_issue", "comment": "fine"}, format="json"
    )

    assert response.status_code == 409
    assert review_state() == before


def test_nobody_reviews_their_own_message(officer, reviewer):
    [item] = flag_messages(officer, ["I guarantee it"], officer=officer)
    before = review_state()

    queue = api_as(officer).get(ITEMS).json()["items"]
    claim = api_as(officer).post(f"{ITEMS}/{item.pk}/claim")
    opened = api_as(officer).get(f"{ITEMS}/{item.pk}")

    assert queue == []
    assert (claim.status_code, opened.status_code) == (403, 404)
    assert review_state() == before
    assert [i["id"] for i in api_as(reviewer).get(ITEMS).json()["items"]] == [item.pk]


def test_nobody_reviews_a_conversation_they_took_part_in_around_the_message(
    alice, officer, reviewer
):
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice, members=[reviewer])
    send(reviewer, channel, "what do you think?")
    send(alice, channel, "I guarantee it")
    archive_pending()
    scan_pending()
    item = ReviewItem.objects.get()
    before = review_state()

    response = api_as(reviewer).post(
        f"{ITEMS}/{item.pk}/decide", {"decision": "no_issue", "comment": "fine"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "self_review"
    assert review_state() == before
    assert api_as(reviewer).get(ITEMS).json()["items"] == []


def test_taking_part_after_the_flag_also_counts(alice, officer, reviewer):
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice, members=[reviewer])
    send(alice, channel, "I guarantee it")
    archive_pending()
    scan_pending()
    send(reviewer, channel, "noted")  # the reviewer answers after the item was raised
    archive_pending()

    response = api_as(reviewer).post(f"{ITEMS}/{ReviewItem.objects.get().pk}/claim")

    assert response.status_code == 403


def test_escalation_moves_the_item_to_the_second_level_for_someone_else(alice, officer, reviewer):
    [item] = flag_messages(alice, ["I guarantee it"], officer=officer)
    escalate = {"decision": "escalated", "comment": "needs legal"}

    api_as(officer).post(f"{ITEMS}/{item.pk}/decide", escalate, format="json")
    second = api_as(officer).get(ITEMS, {"queue": "escalated"}).json()["items"]
    own = api_as(officer).post(f"{ITEMS}/{item.pk}/claim")
    other = api_as(reviewer).post(
        f"{ITEMS}/{item.pk}/decide", {"decision": "violation", "comment": "agreed"}, format="json"
    )

    assert [(i["queue"], i["state"]) for i in second] == [("escalated", "new")]
    assert own.status_code == 403
    assert (other.json()["state"], other.json()["decision"]) == ("closed", "violation")
    closed = api_as(officer).get(ITEMS, {"queue": "all", "state": "closed"}).json()["items"]
    assert [(i["id"], i["queue"]) for i in closed] == [(item.pk, "escalated")]
    assert AuditEventType.REVIEW_ESCALATED in audit_types()


def test_a_closed_item_is_reopened_with_a_reason(alice, officer):
    [item] = flag_messages(alice, ["I guarantee it"], officer=officer)
    client = api_as(officer)
    client.post(
        f"{ITEMS}/{item.pk}/decide", {"decision": "no_issue", "comment": "ok"}, format="json"
    )

    without = client.post(f"{ITEMS}/{item.pk}/reopen", {"reason": ""}, format="json")
    reopened = client.post(f"{ITEMS}/{item.pk}/reopen", {"reason": "new facts"}, format="json")

    assert without.status_code == 400
    assert (reopened.json()["state"], reopened.json()["decision"]) == ("new", None)
    assert audit_types()[-1] == AuditEventType.REVIEW_REOPENED


def test_a_bulk_decision_is_recorded_per_item(alice, officer):
    items = flag_messages(alice, ["guarantee 1", "guarantee 2", "guarantee 3"], officer=officer)

    response = api_as(officer).post(
        "/api/v1/compliance/review/decide",
        {"items": [i.pk for i in items], "decision": "no_issue", "comment": "routine"},
        format="json",
    )

    assert [i["state"] for i in response.json()["items"]] == ["closed"] * 3
    decisions = ReviewStep.objects.filter(kind="decision")
    assert sorted(decisions.values_list("item_id", flat=True)) == [i.pk for i in items]
    assert audit_types().count(AuditEventType.REVIEW_DECIDED) == 3


def test_a_bulk_decision_with_one_refused_item_decides_none(alice, officer, reviewer):
    items = flag_messages(alice, ["guarantee 1", "guarantee 2"], officer=officer)
    api_as(reviewer).post(f"{ITEMS}/{items[1].pk}/claim")
    before = review_state()

    response = api_as(officer).post(
        "/api/v1/compliance/review/decide",
        {"items": [i.pk for i in items], "decision": "no_issue", "comment": "routine"},
        format="json",
    )

    assert response.status_code == 409
    assert review_state() == before


def test_a_stale_claim_is_released_and_the_release_audited(alice, officer):
    [item] = flag_messages(alice, ["I guarantee it"], officer=officer)
    api_as(officer).post(f"{ITEMS}/{item.pk}/claim")
    ReviewItem.objects.filter(pk=item.pk).update(claimed_at=timezone.now() - timedelta(hours=2))

    assert review_claims_expire() == 1
    item.refresh_from_db()
    assert (item.state, item.claimed_by) == ("new", None)
    released = AuditEvent.objects.get(event_type=AuditEventType.REVIEW_RELEASED)
    assert (released.actor, released.details["reason"]) == (None, "claim timed out")


@pytest.mark.parametrize("roles", [[Role.ADMINISTRATOR], [Role.EMPLOYEE]], ids=lambda r: r[0])
def test_only_compliance_officers_review(alice, officer, roles):
    [item] = flag_messages(alice, ["I guarantee it"], officer=officer)
    someone = UserFactory(roles=roles, is_superuser=True)
    before = review_state()

    assert api_as(someone).get(ITEMS).status_code == 403
    assert api_as(someone).post(f"{ITEMS}/{item.pk}/claim").status_code == 403
    assert review_state() == before
