"""The search table: the contract DDL on PostgreSQL, a plain table on SQLite.

On PostgreSQL the table is built by `search_table_ddl`, so the compiler and the table agree
by construction. SQLite (the embedded default) gets the same scalar columns, with the arrays
held as JSON text and no text-search columns: the simple backend evaluates queries itself.
"""

from django.db import migrations

from compliance.search.query.compile_postgres import search_table_ddl

TABLE = "compliance_search_entry"

SQLITE_DDL = (
    f"""CREATE TABLE {TABLE} (
    archive_seq integer PRIMARY KEY,
    message_id integer NOT NULL,
    version_kind text NOT NULL CHECK (version_kind IN ('original', 'edit')),
    conversation_id integer NOT NULL,
    conversation_name text NOT NULL DEFAULT '',
    author_id integer NOT NULL,
    author_username text NOT NULL,
    audience_ids text NOT NULL,
    audience_usernames text NOT NULL,
    occurred_at text NOT NULL,
    created_at text NOT NULL,
    body text NOT NULL,
    is_edited boolean NOT NULL DEFAULT 0,
    is_deleted boolean NOT NULL DEFAULT 0,
    has_attachment boolean NOT NULL DEFAULT 0,
    is_flagged boolean NOT NULL DEFAULT 0,
    policies text NOT NULL DEFAULT '[]'
)""",
    f"CREATE INDEX {TABLE}_conversation ON {TABLE} (conversation_id, occurred_at)",
    f"CREATE INDEX {TABLE}_occurred_at ON {TABLE} (occurred_at)",
    f"CREATE INDEX {TABLE}_message ON {TABLE} (message_id)",
)


def create_table(apps, schema_editor):  # type: ignore[no-untyped-def]
    postgres = schema_editor.connection.vendor == "postgresql"
    for statement in search_table_ddl(TABLE) if postgres else SQLITE_DDL:
        schema_editor.execute(statement)


def drop_table(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(f"DROP TABLE {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]

    operations = [migrations.RunPython(create_table, drop_table)]
