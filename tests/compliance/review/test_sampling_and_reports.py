"""Daily sampling of messages that raised nothing, and the review report (JSON and CSV)."""

import csv
import io
from datetime import timedelta

from django.utils import timezone

from archive.services.archiving import archive_pending
from audit.models import AuditEvent, AuditEventType
from compliance.models import Flag, ReviewItem, SamplingRun
from compliance.review.sampling import review_sample
from compliance.review.services import review_item_claim, review_item_decide
from compliance.scanning.services import policy_create
from compliance.scanning.stage import scan_pending
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, send

from ..scanning.conftest import make_policy


def sampling_policy(officer, **sampling):
    return policy_create(
        user=officer,
        name="Supervision",
        conditions={"lexicons": [{"name": "p", "terms": ["guarantee"]}]},
        actions=["flag"],
        sampling=sampling,
    )


def test_sampling_takes_at_least_n_per_person_of_the_unflagged(alice, bob, officer):
    sampling_policy(officer, per_person=2)
    channel = ChannelFactory(creator=alice, members=[bob])
    for n in range(20):
        send(alice, channel, f"routine {n}")
    send(bob, channel, "bob's only message")
    send(alice, channel, "I guarantee it")
    archive_pending()
    scan_pending()

    taken = review_sample(day=timezone.now().date())

    sampled = ReviewItem.objects.filter(sampled=True)
    authors = sorted(sampled.values_list("author_id", flat=True))
    assert taken == {"Supervision": sampled.count()}
    assert authors.count(bob.pk) == 1  # all he wrote
    assert authors.count(alice.pk) == 2
    flagged_message = Flag.objects.get(source="message").message_id
    assert not sampled.filter(message_id=flagged_message).exists()
    run = SamplingRun.objects.get()
    assert (run.candidates, run.sampled) == (21, 3)
    assert AuditEvent.objects.get(event_type=AuditEventType.REVIEW_SAMPLED).details["sampled"] == 3


def test_a_percentage_of_the_days_messages_once_a_day(alice, officer):
    sampling_policy(officer, percent=50)
    channel = ChannelFactory(creator=alice)
    for n in range(4):
        send(alice, channel, f"routine {n}")
    archive_pending()
    today = timezone.now().date()

    first = review_sample(day=today)
    again = review_sample(day=today)

    assert (first, again) == ({"Supervision": 2}, {})
    assert ReviewItem.objects.filter(sampled=True).count() == 2


def test_sampled_messages_are_not_flagged_in_search_terms(alice, officer):
    sampling_policy(officer, percent=100)
    send(alice, ChannelFactory(creator=alice), "routine")
    archive_pending()
    review_sample(day=timezone.now().date())

    assert Flag.objects.get().source == "sample"
    assert ReviewItem.objects.get().sampled


def test_the_report_counts_raised_reviewed_open_and_hits_per_term(alice, officer):
    reviewer = UserFactory(roles=["compliance_officer"])
    make_policy(officer, terms=["guarantee", "promise"])
    channel = ChannelFactory(creator=alice)
    for body in ["I guarantee it", "guarantee again", "I promise"]:
        send(alice, channel, body)
    archive_pending()
    scan_pending()
    first, second = ReviewItem.objects.order_by("pk")[:2]
    review_item_decide(user=reviewer, item_id=first.pk, decision="violation", comment="no")
    review_item_claim(user=reviewer, item_id=second.pk)
    today = timezone.now().date()

    report = (
        api_as(officer)
        .get(
            "/api/v1/compliance/review/report",
            {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()},
        )
        .json()
    )

    assert report["queues"]["first"]["raised"] == 3
    assert report["queues"]["first"]["reviewed"] == 1
    assert report["queues"]["first"]["open"] == 2
    assert report["reviewers"] == {
        reviewer.username: {
            "violation": 1,
            "reviewed": 1,
            "claimed_open": 1,
            "oldest_claimed_age_hours": 0.0,
        }
    }
    promises = report["policies"]["Promises"]
    assert {k: promises[k] for k in ("flags", "raised", "reviewed", "open")} == {
        "flags": 3,
        "raised": 3,
        "reviewed": 1,
        "open": 2,
    }
    assert promises["oldest_age_hours"] == 0.0
    assert report["terms"] == {"Promises: guarantee": 2, "Promises: promise": 1}


def test_the_report_as_csv(alice, officer):
    make_policy(officer, terms=["guarantee"])
    send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_pending()
    scan_pending()
    today = timezone.now().date().isoformat()

    response = api_as(officer).get(
        "/api/v1/compliance/review/report", {"start": today, "end": today, "output": "csv"}
    )

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "name", "measure", "value"]
    assert ["terms", "Promises: guarantee", "hits", "1"] in rows
    assert ["queues", "first", "raised", "1"] in rows
    assert AuditEvent.objects.filter(event_type=AuditEventType.REVIEW_REPORT_MADE).count() == 1


def test_a_report_period_that_runs_backwards_is_refused(officer):
    response = api_as(officer).get(
        "/api/v1/compliance/review/report", {"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event_type=AuditEventType.REVIEW_REPORT_MADE).exists()
