"""Indexes for the console's people search over accounts' tables (docs/console.md):

- a trigram index over one expression of a person's names and e-mail, so a substring search
  ("contains") over 100,000 people reads the index, not every row (pg_trgm: a trusted
  extension, which the database owner that migrates may create);
- role grants by role, so "every auditor" does not read every grant.

PostgreSQL only: the embedded SQLite default searches by scanning, which is fine at its size.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS console_people_text ON accounts_user USING gin "
    "((upper(username || ' ' || display_name || ' ' || first_name || ' ' || last_name"
    " || ' ' || email)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS console_role_grant_by_role ON accounts_rolegrant (role, user_id)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS console_people_text",
    "DROP INDEX IF EXISTS console_role_grant_by_role",
]


def _run(statements: list[str]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_workspace_settings"),
        ("console", "0001_initial"),
    ]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
