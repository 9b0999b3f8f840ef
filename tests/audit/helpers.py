"""Audit trail test helpers: its rows exactly as stored, tampering as a superuser, the verifier."""

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management import call_command
from django.db import ProgrammingError, connection, transaction

from audit.models import AuditImmutableError
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


def audit_verify() -> tuple[int, dict[str, Any]]:
    """Run `audit_verify --json`; returns (exit code, report)."""
    out = io.StringIO()
    try:
        call_command("audit_verify", "--json", stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def problems(report: dict[str, Any]) -> list[tuple[str, int | None]]:
    """(kind, seq) of every problem, in the order reported."""
    return [(p["kind"], p["seq"]) for p in report["problems"]]
