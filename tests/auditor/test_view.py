"""The auditor's view: auditors only (everyone else refused, nothing changed), read-only,
filtered and keyset-paged, its viewing and exports audited, the trail's status read from the
last verification run, and auditlog's diffs linked from their event."""

import csv
import io
import json
from datetime import timedelta

import pytest
from auditlog.context import set_actor
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from audit import verification
from audit.checkpoints import audit_checkpoint_create
from audit.models import AuditEvent, AuditEventType, AuditVerificationRun
from audit.tasks import audit_verify_task
from tests.factories import UserFactory

from .conftest import record, signed_in

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/audit/", "/audit/events/1/", "/audit/export.csv", "/audit/export.jsonl"]


def _trail() -> list[tuple]:
    return list(AuditEvent.objects.order_by("seq").values_list("seq", "event_type", "hash"))


@pytest.fixture
def some_events(auditor):
    admin = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    officer = UserFactory(username="olivia", roles=[Role.COMPLIANCE_OFFICER])
    return {
        "role": record(admin, AuditEventType.ROLE_GRANTED, user_id=7, role="auditor"),
        "search": record(officer, AuditEventType.SEARCH_RUN, query="merger", count=3),
        "group": record(None, AuditEventType.GROUP_MEMBERS_ADDED, group_id=4, user_ids=[7, 9]),
        "revoke": record(admin, AuditEventType.ROLE_REVOKED, user_id=9, role="employee"),
    }


@pytest.mark.parametrize(
    "who",
    ["employee", "administrator", "compliance_officer", "superuser", "deactivated", "anonymous"],
)
def test_nobody_but_an_auditor_opens_any_of_it_and_nothing_changes(some_events, who):
    people = {
        "employee": lambda: UserFactory(username="emp"),
        "administrator": lambda: UserFactory(username="adm2", roles=[Role.ADMINISTRATOR]),
        "compliance_officer": lambda: UserFactory(username="off2", roles=[Role.COMPLIANCE_OFFICER]),
        "superuser": lambda: UserFactory(username="root", roles=[], is_superuser=True),
        "deactivated": lambda: UserFactory(username="gone", roles=[Role.AUDITOR], is_active=False),
    }
    client = signed_in(people[who]()) if who in people else Client()
    before = _trail()
    for url in ENDPOINTS:
        response = client.get(url)
        if who in ("anonymous", "deactivated"):  # no session holds: to the sign-in page
            assert response.status_code == 302
            assert response["Location"].startswith("/login/")
        else:
            assert response.status_code == 403, (url, response.status_code)
            assert b"for auditors" in response.content
    assert _trail() == before


def test_an_auditor_cannot_change_anything_through_the_view(auditor, some_events):
    client = signed_in(auditor)
    before = _trail()
    for url in ENDPOINTS:
        for method in ("post", "put", "patch", "delete"):
            assert getattr(client, method)(url).status_code == 405
    assert _trail() == before


def test_the_auditor_sees_every_event_newest_first_and_the_viewing_is_audited(auditor, some_events):
    response = signed_in(auditor).get("/audit/")

    assert response.status_code == 200
    shown = [e.seq for e in response.context["events"]]
    assert shown == sorted(some_events.values(), reverse=True)
    viewed = AuditEvent.objects.order_by("-seq").first()
    assert viewed.event_type == AuditEventType.AUDIT_TRAIL_VIEWED
    assert viewed.actor == auditor
    assert viewed.details["shown"] == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "ada"}, ["revoke", "role"]),
        ({"type": "search.run"}, ["search"]),
        ({"type": "role."}, ["revoke", "role"]),
        ({"target": "user_id=9"}, ["revoke"]),
        ({"target": "user_ids=9"}, ["group"]),
        ({"target": "group_id=4"}, ["group"]),
        ({"actor": "ada", "target": "user_id=7"}, ["role"]),
    ],
)
def test_filters_narrow_the_trail(auditor, some_events, query, expected):
    response = signed_in(auditor).get("/audit/", query)

    assert [e.seq for e in response.context["events"]] == [some_events[k] for k in expected]
    viewed = AuditEvent.objects.order_by("-seq").first()
    assert viewed.details["filters"]["actor"] == query.get("actor", "")


def test_a_time_range_narrows_the_trail(auditor, some_events):
    client = signed_in(auditor)
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    today = timezone.now().date().isoformat()

    assert client.get("/audit/", {"since": tomorrow}).context["events"] == []
    assert len(client.get("/audit/", {"since": today, "until": today}).context["events"]) >= 4


@pytest.mark.parametrize(
    "query",
    [
        {"target": "no equals sign"},
        {"since": "yesterday"},
        {"type": "made.up"},
        {"since": "2024-02-02", "until": "2024-01-01"},
        {"before": "-3"},
    ],
)
def test_bad_filters_are_a_clear_400_and_record_nothing(auditor, some_events, query):
    before = _trail()
    response = signed_in(auditor).get("/audit/", query)

    assert response.status_code == 400
    assert b'id="filter-errors"' in response.content
    assert _trail() == before


def test_keyset_paging_walks_many_events_without_overlap(auditor):
    seqs = [record(None, AuditEventType.GROUP_CREATED, group_id=i) for i in range(120)]
    client = signed_in(auditor)
    seen, query = [], {"type": "group.created"}
    while True:
        response = client.get("/audit/", query)
        seen += [e.seq for e in response.context["events"]]
        if response.context["next_before"] is None:
            break
        query = {"type": "group.created", "before": response.context["next_before"]}

    assert seen == sorted(seqs, reverse=True)


def _streamed(response) -> str:  # type: ignore[no-untyped-def]
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_csv_export_of_a_filtered_view_is_streamed_and_audited(auditor, some_events):
    response = signed_in(auditor).get("/audit/export.csv", {"type": "role."})

    rows = list(csv.DictReader(io.StringIO(_streamed(response))))
    assert response["Content-Type"].startswith("text/csv")
    assert [int(r["seq"]) for r in rows] == [some_events["role"], some_events["revoke"]]
    assert json.loads(rows[0]["details"]) == {"user_id": 7, "role": "auditor"}
    exported = AuditEvent.objects.get(event_type=AuditEventType.AUDIT_TRAIL_EXPORTED)
    assert exported.actor == auditor
    assert exported.details["format"] == "csv"
    assert exported.details["filters"]["type"] == "role."
    assert exported.details["up_to_seq"] == exported.seq - 1


def test_jsonl_export_carries_what_checks_each_events_place_in_the_chain(auditor, some_events):
    response = signed_in(auditor).get("/audit/export.jsonl")

    lines = [json.loads(line) for line in _streamed(response).splitlines()]
    assert [line["seq"] for line in lines] == sorted(some_events.values())
    for line in lines:
        event = AuditEvent.objects.get(seq=line["seq"])
        assert (line["canonical"], line["hash"], line["prev_hash"]) == (
            event.canonical,
            event.hash,
            event.prev_hash,
        )


def test_the_status_is_the_last_verification_run_never_a_verification(
    auditor, some_events, monkeypatch
):
    client = signed_in(auditor)
    assert b"Not verified yet" in client.get("/audit/").content

    audit_checkpoint_create()
    assert audit_verify_task() == 0
    monkeypatch.setattr(
        verification, "verify_audit_trail", lambda **kw: pytest.fail("verified on a page view")
    )
    page = client.get("/audit/").content.decode()

    run = AuditVerificationRun.objects.get()
    assert "Verified: no problems" in page
    assert run.witnessed_tree_size == run.last_seq
    assert f"Signed over events 1 to {run.last_seq}" in page
    assert f"Witnessed: events 1 to {run.witnessed_tree_size}" in page


def test_a_run_with_problems_shows_them(auditor, some_events):
    report = verification.Report(events=4, last_seq=4)
    report.add("hash", "event 3's hash does not match its content", seq=3)
    verification.verification_run_record(report=report, started_at=timezone.now())

    page = signed_in(auditor).get("/audit/").content.decode()

    assert "1 problem found" in page
    assert "does not match its content" in page


def test_an_event_links_the_model_diffs_written_with_it_and_the_opening_is_audited(auditor):
    from eim.chat.barriers.services import barrier_policy_create, barrier_policy_preview
    from tests.chat.barriers.conftest import segment

    admin = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    a, b = segment("Research"), segment("Trading")
    with set_actor(admin):
        version = barrier_policy_create(actor=admin, name="wall", segment_a=a.pk, segment_b=b.pk)
        barrier_policy_preview(actor=admin, policy_id=version.policy_id)  # the next action
    event = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_PROPOSED)
    previewed = AuditEvent.objects.get(event_type=AuditEventType.BARRIER_PREVIEWED)

    response = signed_in(auditor).get(f"/audit/events/{event.seq}/")
    next_one = signed_in(auditor).get(f"/audit/events/{previewed.seq}/").context["changes"]

    assert [(c["action"], c["model"]) for c in response.context["changes"]] == [
        ("create", "chat.barrierpolicy"),
        ("create", "chat.barrierpolicyversion"),
    ]
    assert [(c["action"], c["model"]) for c in next_one] == [
        ("update", "chat.barrierpolicyversion")
    ]
    assert f"/audit/events/{event.seq}/" in signed_in(auditor).get("/audit/").content.decode()
    opened = (
        AuditEvent.objects.filter(event_type=AuditEventType.AUDIT_TRAIL_VIEWED)
        .order_by("seq")
        .first()
    )
    assert opened.actor == auditor
    assert opened.details == {
        "view": "event",
        "seq": event.seq,
        "model_changes": len(response.context["changes"]),
    }
    assert str(version.pk) in {c["object_pk"] for c in response.context["changes"]}


def test_an_unknown_event_is_a_404(auditor):
    assert signed_in(auditor).get("/audit/events/999999/").status_code == 404
