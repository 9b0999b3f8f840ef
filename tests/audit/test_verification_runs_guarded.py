"""An audit verification run is what the auditor's view shows as the trail's status, so an
insider who could rewrite "3 problems" to "intact" (or delete the run that found them) would
hide a tampering. Neither the application's own database role nor the tables' owner can
change or remove one, from outside the application (a plain SQL connection)."""

from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from audit.models import AuditVerificationRun
from audit.tasks import audit_verify_task
from tests.archive.roles import attempt, connect_as, database_role

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "audit_auditverificationrun"
REWRITES = {
    "UPDATE": f"UPDATE {TABLE} SET problem_count = 0, problems = '[]'",  # noqa: S608
    "DELETE": f"DELETE FROM {TABLE}",  # noqa: S608
    "TRUNCATE": f"TRUNCATE {TABLE}",
}


def _runs() -> list[tuple[object, ...]]:
    return list(AuditVerificationRun.objects.order_by("pk").values_list())


@pytest.fixture
def as_app() -> Iterator[psycopg.Connection]:
    with database_role("app") as role:
        call_command("db_grant_app_role", role)
        with connect_as(role) as conn:
            yield conn


@pytest.fixture
def as_owner() -> Iterator[psycopg.Connection]:
    db = connection.settings_dict
    with connect_as(db["USER"]) as conn:
        yield conn


@pytest.fixture
def a_run() -> None:
    audit_verify_task()
    assert AuditVerificationRun.objects.count() == 1


def test_the_application_role_cannot_rewrite_a_verification_run(a_run, as_app):
    before = _runs()

    outcomes = {verb: attempt(as_app, statement) for verb, statement in REWRITES.items()}

    assert outcomes == dict.fromkeys(REWRITES, "refused")
    assert _runs() == before


def test_the_owner_cannot_rewrite_a_verification_run_either(a_run, as_owner):
    before = _runs()

    outcomes = {verb: attempt(as_owner, statement) for verb, statement in REWRITES.items()}

    assert outcomes == dict.fromkeys(REWRITES, "refused")
    assert _runs() == before


def test_the_application_role_still_records_runs(a_run, as_app):
    outcome = attempt(
        as_app,
        f"INSERT INTO {TABLE} (started_at, finished_at, events, last_seq, checkpoints, "  # noqa: S608
        "problem_count, problems) VALUES (now(), now(), 0, 0, 0, 0, '[]')",
    )

    assert outcome == "went through"
    assert AuditVerificationRun.objects.count() == 2
