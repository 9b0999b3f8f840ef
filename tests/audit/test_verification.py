"""audit_verify finds what a database superuser changed behind the triggers, naming the seq.

Each case plays the insider: switch the triggers off, change the rows, switch them back on.
"""

import hashlib
import json
import logging

import pytest
from django.core.management import call_command

from audit.models import AuditEvent, AuditEventType
from audit.tasks import audit_verify_task
from audit.verification import verify_audit_trail
from ledger.canonical import canonical_json, chain_hash
from tests.audit.helpers import audit_verify, problems, sql, triggers_bypassed
from tests.factories import audited

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = 6


@pytest.fixture
def trail(officer, alice) -> None:  # type: ignore[no-untyped-def]
    """Six events, seq 1..6, by two people and the system."""
    audited(officer, query="insider", result_count=3)
    audited(officer, AuditEventType.MESSAGE_VIEWED, message_id=7)
    audited(officer, query="merger NEAR/5 target", result_count=12)
    audited(alice, AuditEventType.CONTEXT_VIEWED, message_id=7, before=5)
    audited(None, AuditEventType.EXPORT_MADE, files=2)
    audited(officer, AuditEventType.VERSION_HISTORY_VIEWED, message_id=9)


def event_row(seq: int) -> AuditEvent:
    return AuditEvent.objects.get(seq=seq)


def test_an_intact_trail_verifies_with_exit_0(trail, capsys):
    code, report = audit_verify()

    assert code == 0
    assert report == {
        "events": EVENTS,
        "last_seq": EVENTS,
        "head_seq": EVENTS,
        "checkpoints": 0,
        "problems": [],
        "ok": True,
    }
    call_command("audit_verify")
    assert capsys.readouterr().out.splitlines() == [
        "Checked 6 audit events (seq 1..6) and 0 signed checkpoints; the head is at 6.",
        "The audit trail is intact.",
    ]


def test_an_empty_trail_verifies():
    assert audit_verify() == (
        0,
        {
            "events": 0,
            "last_seq": 0,
            "head_seq": 0,
            "checkpoints": 0,
            "problems": [],
            "ok": True,
        },
    )


def test_problems_are_printed_with_their_seq_and_exit_1(trail, capsys):
    with triggers_bypassed():
        sql('UPDATE audit_auditevent SET details = \'{"query": "lunch"}\' WHERE seq = 3')

    with pytest.raises(SystemExit) as exit_:
        call_command("audit_verify")

    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "Checked 6 audit events (seq 1..6) and 0 signed checkpoints; the head is at 6." in out
    assert "[content] seq 3: column details differs from the hashed content" in out


def test_altered_details_are_detected_at_their_seq(trail):
    with triggers_bypassed():
        sql('UPDATE audit_auditevent SET details = \'{"query": "lunch"}\' WHERE seq = 3')

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("content", 3)])


def test_altered_details_and_hashed_content_are_detected_at_their_seq(trail):
    event = event_row(3)
    content = {**json.loads(event.canonical), "details": {"query": "lunch", "result_count": 0}}
    with triggers_bypassed():
        sql(
            "UPDATE audit_auditevent SET details = %s, canonical = %s WHERE seq = 3",
            [json.dumps(content["details"]), canonical_json(content)],
        )

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("hash", 3)])


def test_an_altered_and_rehashed_event_breaks_the_chain_after_it(trail):
    event = event_row(3)
    content = {**json.loads(event.canonical), "details": {"query": "lunch", "result_count": 0}}
    canonical = canonical_json(content)
    with triggers_bypassed():
        sql(
            "UPDATE audit_auditevent SET details = %s, canonical = %s, hash = %s WHERE seq = 3",
            [json.dumps(content["details"]), canonical, chain_hash(event.prev_hash, canonical)],
        )

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("chain", 4)])


def test_a_deleted_event_is_detected_at_its_seq(trail):
    with triggers_bypassed():
        sql("DELETE FROM audit_auditevent WHERE seq = 3")

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("gap", 3), ("chain", 4)])


def test_a_deleted_newest_event_is_detected_against_the_head(trail):
    with triggers_bypassed():
        sql("DELETE FROM audit_auditevent WHERE seq = 6")

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("gap", 6)])
    assert report["problems"][0]["detail"] == (
        "event 6 is missing: the head says the trail ends at 6"
    )


def test_bulk_updated_events_are_each_detected_at_their_seq(trail):
    with triggers_bypassed():
        sql("UPDATE audit_auditevent SET actor_id = NULL WHERE actor_id IS NOT NULL")

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("content", s) for s in (1, 2, 3, 4, 6)])


def test_a_changed_event_type_and_time_are_detected_at_their_seq(trail):
    with triggers_bypassed():
        sql("UPDATE audit_auditevent SET event_type = 'message.viewed' WHERE seq = 1")
        sql("UPDATE audit_auditevent SET created_at = created_at + interval '1 hour' WHERE seq = 5")

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("content", 1), ("content", 5)])


def test_a_forged_event_inserted_in_the_middle_is_detected_at_its_seq(trail, alice):
    """The forger shifts the later events up by one and chains a new event 3 onto event 2."""
    before = event_row(2)
    content = {
        "seq": 3,
        "type": "search.run",
        "actor": alice.pk,
        "actor_username": "alice",
        "details": {"query": "cover story", "result_count": 0},
        "created_at": before.created_at.isoformat(),
    }
    canonical = canonical_json(content)
    with triggers_bypassed():
        sql("UPDATE audit_auditevent SET seq = seq + 100 WHERE seq >= 3")
        sql("UPDATE audit_auditevent SET seq = seq - 99 WHERE seq >= 100")
        sql(
            "INSERT INTO audit_auditevent (seq, actor_id, actor_username, event_type, details, "
            "created_at, canonical, prev_hash, hash) VALUES (3, %s, 'alice', 'search.run', %s, "
            "%s, %s, %s, %s)",
            [
                alice.pk,
                json.dumps(content["details"]),
                before.created_at,
                canonical,
                before.hash,
                chain_hash(before.hash, canonical),
            ],
        )

    code, report = audit_verify()

    assert code == 1
    assert problems(report) == [
        ("chain", 3),
        *[("content", s) for s in range(4, EVENTS + 2)],
        ("head", EVENTS + 1),
    ]
    assert report["problems"][0]["detail"] == "event 4 chains onto event 2: event 3 was inserted"


def test_a_forged_event_appended_behind_the_head_is_detected(trail, alice):
    last = event_row(EVENTS)
    canonical = canonical_json({**json.loads(last.canonical), "seq": EVENTS + 1})
    with triggers_bypassed():
        sql(
            "INSERT INTO audit_auditevent (seq, actor_id, actor_username, event_type, details, "
            "created_at, canonical, prev_hash, hash) SELECT %s, actor_id, actor_username, "
            "event_type, details, created_at, %s, hash, %s FROM audit_auditevent WHERE seq = %s",
            [EVENTS + 1, canonical, chain_hash(last.hash, canonical), EVENTS],
        )

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("head", EVENTS + 1)])


def test_a_head_moved_elsewhere_is_detected(trail):
    with triggers_bypassed():
        sql("UPDATE audit_audithead SET last_hash = %s", [hashlib.sha256(b"x").hexdigest()])

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("head", EVENTS)])


def test_events_written_while_the_verifier_walks_are_not_problems(trail, officer):
    """The head is read after the walk: events it counts that the walk did not see are read
    then, so a writer committing meanwhile is not taken for a deleted tail."""
    walked = []

    def write_after_the_last(step: int) -> None:
        walked.append(step)
        if len(walked) == EVENTS:
            audited(officer, query="meanwhile")

    report = verify_audit_trail(progress=write_after_the_last)

    assert (report.ok, report.events, report.head_seq) == (True, EVENTS + 1, EVENTS + 1)


def test_a_deleted_head_is_detected(trail):
    with triggers_bypassed():
        sql("DELETE FROM audit_audithead")

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("head", EVENTS)])


def test_numbers_as_the_database_writes_them_back_are_not_problems(officer):
    audited(officer, big=1e16, small=1e-7, ratio=0.30000000000000004, whole=2.0, flag=True)

    code, report = audit_verify()

    assert (code, report["problems"]) == (0, [])


def test_true_changed_to_1_is_detected(officer):
    audited(officer, query="insider", result_count_exact=True)
    with triggers_bypassed():
        sql(
            "UPDATE audit_auditevent SET details = %s",
            ['{"query": "insider", "result_count_exact": 1}'],
        )

    code, report = audit_verify()

    assert (code, problems(report)) == (1, [("content", 1)])


def test_the_hourly_task_finds_nothing_in_an_intact_trail(trail, caplog):
    with caplog.at_level(logging.ERROR, logger="audit.tasks"):
        found = audit_verify_task()

    assert found == 0
    assert caplog.records == []


def test_the_hourly_task_logs_each_problem_of_a_tampered_trail(trail, caplog):
    with triggers_bypassed():
        sql('UPDATE audit_auditevent SET details = \'{"query": "lunch"}\' WHERE seq = 3')

    with caplog.at_level(logging.ERROR, logger="audit.tasks"):
        found = audit_verify_task()

    assert found == 1
    (logged,) = caplog.records
    assert logged.getMessage().startswith("audit trail verification: [content] seq=3 ")
