"""A server whose database role could change the append-only tables says so, and in production
refuses to start; the grant command gives exactly the application's privileges, every time."""

import io
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from psycopg import sql

from archive.database_roles import role_findings
from eim.startup import start_up_check
from ledger.append_only import APPEND_ONLY_TABLES
from tests.archive.roles import connect_as, database_role, database_url, superuser_sql
from tests.conftest import ROOT, server_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app_role() -> Iterator[str]:
    with database_role("app") as role:
        call_command("db_grant_app_role", role, stdout=io.StringIO())
        yield role


def findings_of(role: str) -> list[str]:
    with connect_as(role) as conn, conn.cursor() as cursor:
        return role_findings(cursor)


def grants_of(role: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s ORDER BY 1, 2",
            [role],
        )
        return cursor.fetchall()


def test_the_application_role_has_nothing_to_report(app_role):
    assert findings_of(app_role) == []


def test_the_superuser_the_suite_runs_as_is_reported():
    with connection.cursor() as cursor:
        findings = role_findings(cursor)

    assert findings == ["is a superuser: can bypass every trigger and grant"]


ESCALATIONS = {
    "UPDATE on records": (
        "GRANT UPDATE ON archive_archiverecord TO {role}",
        ["may UPDATE archive_archiverecord"],
    ),
    "UPDATE on one column": (
        "GRANT UPDATE (details) ON audit_auditevent TO {role}",
        ["may UPDATE audit_auditevent"],
    ),
    "DELETE on checkpoints": (
        "GRANT DELETE ON archive_checkpoint TO {role}",
        ["may DELETE rows of archive_checkpoint"],
    ),
    "TRUNCATE on verification runs": (
        "GRANT TRUNCATE ON archive_verificationrun TO {role}",
        ["may TRUNCATE archive_verificationrun"],
    ),
    "ownership of blobs": (
        "ALTER TABLE archive_archiveblob OWNER TO {role}",
        [
            "owns archive_archiveblob: can switch its triggers off",
            "may UPDATE archive_archiveblob",
            "may DELETE rows of archive_archiveblob",
            "may TRUNCATE archive_archiveblob",
        ],
    ),
    "CREATEROLE": (
        "ALTER ROLE {role} CREATEROLE",
        ["may create roles (CREATEROLE): can make itself a member of the owner"],
    ),
    "the disposal function": (
        "GRANT EXECUTE ON FUNCTION archive_records_dispose(bigint[]) TO {role}",
        ["may EXECUTE archive_records_dispose(bigint[]): can delete archive records"],
    ),
}


@pytest.mark.parametrize("escalation", ESCALATIONS)
def test_each_way_to_change_the_append_only_tables_is_reported(app_role, escalation):
    statement, expected = ESCALATIONS[escalation]
    superuser_sql(sql.SQL(statement).format(role=sql.Identifier(app_role)))
    try:
        findings = findings_of(app_role)
    finally:
        superuser_sql("ALTER TABLE archive_archiveblob OWNER TO CURRENT_USER")

    assert findings == expected


def test_a_member_of_a_role_that_may_write_everything_is_reported(app_role):
    superuser_sql(sql.SQL("GRANT pg_write_all_data TO {}").format(sql.Identifier(app_role)))

    findings = findings_of(app_role)

    assert set(findings) >= {f"may UPDATE {table}" for table in APPEND_ONLY_TABLES}
    assert "may DELETE rows of archive_archiverecord" in findings


@override_settings(DEBUG=False, EIM_ALLOW_PRIVILEGED_DATABASE_ROLE=False)
def test_in_production_the_start_up_check_refuses_a_privileged_role():
    with pytest.raises(SystemExit, match=r"refusing to start the chat server: .*archive\.E001"):
        start_up_check(process="chat server")


@override_settings(DEBUG=False, EIM_ALLOW_PRIVILEGED_DATABASE_ROLE=True)
def test_the_override_starts_a_privileged_role_with_a_warning(caplog):
    start_up_check(process="chat server")

    assert "archive.W001" in caplog.text
    assert "is a superuser" in caplog.text


def _chat_server_start(database: str, **env: str) -> subprocess.CompletedProcess[str]:
    """What Daphne does first: import the ASGI application, in a process of its own."""
    environment = server_env()
    environment.update(DATABASE_URL=database, EIM_DEBUG="false", **env)
    return subprocess.run(
        [sys.executable, "-c", "import eim.asgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_chat_server_refuses_to_start_as_a_superuser_without_the_override():
    started = _chat_server_start(
        database_url("postgres"), EIM_ALLOW_PRIVILEGED_DATABASE_ROLE="false"
    )

    assert started.returncode != 0
    assert "refusing to start the chat server" in started.stderr
    assert "is a superuser" in started.stderr


def test_the_chat_server_starts_as_the_application_role(app_role):
    started = _chat_server_start(database_url(app_role), EIM_ALLOW_PRIVILEGED_DATABASE_ROLE="false")

    assert started.returncode == 0, started.stderr
    assert "archive.E001" not in started.stderr
    assert "archive.W001" not in started.stderr


def test_the_chat_server_refuses_to_start_when_it_cannot_check_its_role():
    started = _chat_server_start(
        "postgres://postgres@127.0.0.1:1/eim", EIM_ALLOW_PRIVILEGED_DATABASE_ROLE="false"
    )

    assert started.returncode != 0
    assert "archive.E002" in started.stderr
    assert "could not check the database role" in started.stderr


@pytest.mark.slow
def test_a_celery_worker_refuses_to_start_as_a_superuser_without_the_override():
    env = server_env()
    env.update(EIM_DEBUG="false", EIM_ALLOW_PRIVILEGED_DATABASE_ROLE="false")

    worker = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "eim",
            "worker",
            "--pool=solo",
            "--queues=roles-start-up-check",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert worker.returncode != 0
    assert "refusing to start the Celery worker" in worker.stderr
    assert " ready." not in worker.stderr


def test_healthz_names_the_role_and_what_it_could_change(client, settings):
    settings.EIM_HEALTH_TOKEN = "operators-token"

    section = client.get("/healthz", HTTP_AUTHORIZATION="Bearer operators-token").json()[
        "database_role"
    ]

    assert section == {
        "checked": True,
        "role": connection.settings_dict["USER"],
        "can_change_append_only_tables": True,
        "findings": ["is a superuser: can bypass every trigger and grant"],
    }


def test_granting_again_changes_nothing(app_role):
    before = grants_of(app_role)

    call_command("db_grant_app_role", app_role, stdout=io.StringIO())

    assert grants_of(app_role) == before
    assert ("archive_archiverecord", "INSERT") in before
    assert ("archive_archiverecord", "UPDATE") not in before
    assert ("chat_message", "UPDATE") in before


def test_a_table_made_after_the_grants_is_out_of_reach_until_they_run_again(app_role):
    superuser_sql("CREATE TABLE later_live_table (id bigint)")
    try:
        with connect_as(app_role) as conn:
            before = conn.execute("SELECT has_table_privilege('later_live_table', 'INSERT')")
            reachable_before = before.fetchone()

        call_command("db_grant_app_role", app_role, stdout=io.StringIO())
        granted = grants_of(app_role)
    finally:
        superuser_sql("DROP TABLE later_live_table")

    assert reachable_before == (False,)
    assert ("later_live_table", "INSERT") in granted


def test_the_grant_command_will_not_make_the_owner_or_a_superuser_the_application_role():
    owner = connection.settings_dict["USER"]
    with database_role("super", "SUPERUSER") as superuser, database_role("member") as member:
        superuser_sql(sql.SQL("GRANT {} TO {}").format(*map(sql.Identifier, (owner, member))))
        refusals = {}
        for role in (superuser, member, "no_such_role", "x; DROP"):
            with pytest.raises(CommandError) as refused:
                call_command("db_grant_app_role", role, stdout=io.StringIO())
            refusals[role] = str(refused.value)
        granted = grants_of(superuser) + grants_of(member)

    assert refusals == {
        superuser: f"{superuser} is a superuser: no grant holds it back",
        member: f"{member} is (a member of) {owner}, the owner: use another role",
        "no_such_role": "there is no role no_such_role: CREATE ROLE no_such_role LOGIN first",
        "x; DROP": "'x; DROP' is not a role name",
    }
    assert granted == []


def test_a_database_that_still_has_the_disposal_setting_door_is_reported(app_role):
    from importlib import import_module

    migration = import_module("archive.migrations.0007_disposal_function")
    superuser_sql(migration.PG_TRIGGER_FUNCTION_WITH_DOOR)
    try:
        findings = findings_of(app_role)
    finally:
        superuser_sql(migration.PG_TRIGGER_FUNCTION)

    assert findings == [
        "any session may delete archive records after SET eim.archive_disposal "
        "(the database predates archive/0005: run the migrations)"
    ]
    assert findings_of(app_role) == []
