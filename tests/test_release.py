"""`make run` and the production release step: with DATABASE_OWNER_URL the owner migrates and
grants, and every other process (the demo seed included) runs as the application's role."""

import importlib
import os
import subprocess
import sys
from types import ModuleType

import psycopg
import pytest
from psycopg import sql

from archive.database_roles import role_findings
from tests.archive.roles import database_role, database_url, superuser_sql
from tests.conftest import ROOT, server_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deploy(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """deploy/run.py, imported the way it runs: with deploy/ first on the path."""
    monkeypatch.syspath_prepend(str(ROOT / "deploy"))
    return importlib.import_module("run")


def test_make_run_migrates_as_the_owner_and_seeds_as_the_application_role(deploy):
    database = f"eim_release_test_{os.getpid()}"
    with database_role("owner") as owner, database_role("app") as app:
        superuser_sql(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(*map(sql.Identifier, (database, owner)))
        )
        try:
            env = server_env()
            env.update(
                DATABASE_OWNER_URL=database_url(owner, database),
                DATABASE_URL=database_url(app, database),
                EIM_ALLOW_PRIVILEGED_DATABASE_ROLE="false",
            )

            processes = deploy.prepare(env)

            with psycopg.connect(database_url("postgres", database)) as conn:
                cursor = conn.cursor()
                table_owners = cursor.execute(
                    "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
                seeded = cursor.execute("SELECT count(*) FROM chat_message").fetchone()
                findings = role_findings(cursor, role=app)
        finally:
            superuser_sql(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))

    assert table_owners == [(owner,)]
    assert findings == []
    assert seeded != (0,)  # the demo seed ran as the application's role
    assert "DATABASE_OWNER_URL" not in processes
    assert processes["DATABASE_URL"] == database_url(app, database)


def test_without_an_owner_url_the_processes_environment_is_unchanged(deploy):
    release = importlib.import_module("release")
    env = {"DATABASE_URL": "postgres://eim@db/eim", "PORT": "8000"}

    assert release.process_environment(env) == env


@pytest.mark.parametrize(
    ("app_url", "refusal"),
    [
        ("postgres://db/eim", "DATABASE_URL must name the application's role"),
        ("postgres://eim_app@db/other", "must name the same database"),
        ("postgres://eim_app@elsewhere/eim", "must name the same database"),
        ("postgres://eim_owner@db/eim", "not the owner"),
    ],
)
def test_the_release_step_refuses_urls_that_do_not_fit_together(deploy, app_url, refusal):
    release = importlib.import_module("release")
    env = {"DATABASE_OWNER_URL": "postgres://eim_owner@db/eim", "DATABASE_URL": app_url}

    with pytest.raises(release.ReleaseError, match=refusal):
        release.app_role(env)


def test_a_failing_release_step_says_which_step_failed_without_a_traceback_of_its_own():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EIM_", "DATABASE_", "DJANGO_"))
    }
    env.update(DATABASE_URL="postgres://eim_app@127.0.0.1:5432/eim_release_unused")  # no secret

    run = subprocess.run(
        [sys.executable, "deploy/release.py"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert run.returncode == 1
    assert run.stderr.splitlines()[-1] == "release: manage.py migrate failed (exit 1)"
    assert "EIM_SECRET_KEY must be set" in run.stderr
    assert 'release.py", line' not in run.stderr
