"""Audit trail test helpers: its rows exactly as stored, tampering as a superuser, the verifier."""

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management import call_command
from django.db import ProgrammingError, connection, transaction

from audit.models import AuditEvent, AuditImmutableError
from ledger.canonical import canonical_json, chain_hash
from tests.conftest import AUDIT_TRIGGERS

AUDIT_TABLES = tuple(AUDIT_TRIGGERS)


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def audit_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the audit tables, exactly as stored."""
    state = {}
    with connection.cursor() as cursor:
        for table in AUDIT_TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608
            state[table] = cursor.fetchall()
    return state


def outcome(write: Callable[[], object]) -> str:
    """'refused' when the audit trail refused the write (model or trigger), else 'went through'.

    The write runs in a savepoint of its own, so a refused statement leaves the connection
    usable for the next one.
    """
    try:
        with transaction.atomic():
            write()
    except AuditImmutableError:
        return "refused"
    except ProgrammingError as error:
        if "the audit trail is append-only" not in str(error):
            raise
        return "refused"
    return "went through"


@contextmanager
def triggers_bypassed() -> Iterator[None]:
    """A superuser switching the audit trail's triggers off, then back on ALWAYS."""
    for table in AUDIT_TABLES:
        sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        for table, names in AUDIT_TRIGGERS.items():
            for name in names:
                sql(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")


def audit_verify(*args: str) -> tuple[int, dict[str, Any]]:
    """Run `audit_verify --json`; returns (exit code, report)."""
    out = io.StringIO()
    try:
        call_command("audit_verify", "--json", *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def problems(report: dict[str, Any]) -> list[tuple[str, int | None]]:
    """(kind, seq) of every problem, in the order reported."""
    return [(p["kind"], p["seq"]) for p in report["problems"]]


def places(report: dict[str, Any]) -> list[tuple[str, int | None, int | None]]:
    """(kind, seq, checkpoint) of every problem, in the order reported."""
    return [(p["kind"], p["seq"], p["checkpoint"]) for p in report["problems"]]


def rehash_from(seq: int, details: dict[str, Any]) -> None:
    """The superuser's forgery: event `seq` says `details`, and it and every event after it are
    re-hashed onto the chain, and the head moved to the new last hash (triggers switched off)."""
    with triggers_bypassed():
        prev_hash = AuditEvent.objects.get(seq=seq).prev_hash
        for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
            content = json.loads(event.canonical)
            if event.seq == seq:
                content["details"] = details
            canonical = canonical_json(content)
            new_hash = chain_hash(prev_hash, canonical)
            sql(
                "UPDATE audit_auditevent SET details = %s, canonical = %s, prev_hash = %s, "
                "hash = %s WHERE seq = %s",
                [json.dumps(content["details"]), canonical, prev_hash, new_hash, event.seq],
            )
            prev_hash = new_hash
        sql("UPDATE audit_audithead SET last_hash = %s", [prev_hash])
