"""Nothing the application can say changes or removes an audit event or checkpoint: not a single
object, not a queryset, not raw SQL, not a replica-role session. Only the head row moves, and
only forward."""

from collections.abc import Callable
from functools import partial

import pytest
from django.db import connection

from audit.checkpoints import audit_checkpoint_create
from audit.models import AuditCheckpoint, AuditEvent, AuditEventType
from tests.audit.helpers import audit_state, outcome, sql
from tests.factories import audited

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def trail(officer, alice) -> None:  # type: ignore[no-untyped-def]
    audited(officer, query="insider", result_count=3)
    audited(officer, AuditEventType.MESSAGE_VIEWED, message_id=7)
    audited(alice, AuditEventType.CONTEXT_VIEWED, message_id=7, before=5)
    audit_checkpoint_create()


ORM_WRITES: dict[str, Callable[[], object]] = {
    "event.save": lambda: AuditEvent.objects.first().save(),
    "event.delete": lambda: AuditEvent.objects.first().delete(),
    "checkpoint.save": lambda: AuditCheckpoint.objects.get().save(),
    "checkpoint.delete": lambda: AuditCheckpoint.objects.get().delete(),
}

QUERYSET_WRITES: dict[str, Callable[[], object]] = {
    "events.filter.update details": lambda: AuditEvent.objects.filter(seq=2).update(details={}),
    "events.filter.update actor": lambda: AuditEvent.objects.filter(seq=2).update(actor=None),
    "events.update": lambda: AuditEvent.objects.update(event_type="export.made"),
    "events.filter.delete": lambda: AuditEvent.objects.filter(seq=2).delete(),
    "events.delete": lambda: AuditEvent.objects.all().delete(),
    "checkpoints.update": lambda: AuditCheckpoint.objects.update(root_hash="0" * 64),
    "checkpoints.delete": lambda: AuditCheckpoint.objects.all().delete(),
}

SQL_CASES = [
    "UPDATE audit_auditevent SET details = '{}' WHERE seq = 2",
    "UPDATE audit_auditevent SET created_at = created_at - interval '1 day'",
    "DELETE FROM audit_auditevent WHERE seq = 2",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
    "TRUNCATE audit_auditevent CASCADE",
    "DELETE FROM audit_audithead",
    "TRUNCATE audit_audithead",
    "UPDATE audit_audithead SET last_seq = last_seq - 1",
    "UPDATE audit_audithead SET last_hash = 'forged'",
    "UPDATE audit_auditcheckpoint SET signature = 'forged'",
    "DELETE FROM audit_auditcheckpoint",
    "TRUNCATE audit_auditcheckpoint",
]


def _run(*statements: str) -> None:
    for statement in statements:
        sql(statement)


def _each(statements: list[str], *, setup: tuple[str, ...] = ()) -> dict[str, Callable[[], None]]:
    """Each statement as a write in a transaction of its own, after the `setup` statements."""
    return {statement: partial(_run, *setup, statement) for statement in statements}


def test_the_model_refuses_to_save_over_or_delete_an_event(trail):
    before = audit_state()

    outcomes = {name: outcome(write) for name, write in ORM_WRITES.items()}

    assert outcomes == dict.fromkeys(ORM_WRITES, "refused")
    assert audit_state() == before


def test_the_database_refuses_queryset_updates_and_deletes(trail):
    before = audit_state()

    outcomes = {name: outcome(write) for name, write in QUERYSET_WRITES.items()}

    assert outcomes == dict.fromkeys(QUERYSET_WRITES, "refused")
    assert audit_state() == before


def test_the_database_refuses_raw_update_delete_and_truncate(trail):
    before = audit_state()

    outcomes = {name: outcome(write) for name, write in _each(SQL_CASES).items()}

    assert outcomes == dict.fromkeys(SQL_CASES, "refused")
    assert audit_state() == before


def test_a_replica_role_session_does_not_silence_the_triggers(trail):
    before = audit_state()
    replica = _each(SQL_CASES, setup=("SET LOCAL session_replication_role = replica",))

    outcomes = {name: outcome(write) for name, write in replica.items()}

    assert outcomes == dict.fromkeys(SQL_CASES, "refused")
    assert audit_state() == before


def test_the_head_moves_forward(trail):
    sql("UPDATE audit_audithead SET last_seq = last_seq + 1")

    assert audit_state()["audit_audithead"][0][1] == 4


def test_every_audit_trigger_fires_always():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'audit_%%' ORDER BY 1, 2"
        )
        triggers = cursor.fetchall()

    assert triggers == [
        ("audit_auditcheckpoint", "audit_auditcheckpoint_append_only", "A"),
        ("audit_auditcheckpoint", "audit_auditcheckpoint_no_truncate", "A"),
        ("audit_auditevent", "audit_auditevent_append_only", "A"),
        ("audit_auditevent", "audit_auditevent_no_truncate", "A"),
        ("audit_audithead", "audit_audithead_forward_only", "A"),
        ("audit_audithead", "audit_audithead_no_delete", "A"),
        ("audit_audithead", "audit_audithead_no_truncate", "A"),
        ("audit_auditverificationrun", "audit_auditverificationrun_append_only", "A"),
        ("audit_auditverificationrun", "audit_auditverificationrun_no_truncate", "A"),
    ]
