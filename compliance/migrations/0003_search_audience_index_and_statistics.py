"""The search table: one GIN index on (audience_ids, audience_usernames), statistics 1000.

PostgreSQL only (on SQLite the table is plain and has neither index). Two changes measured
in docs/performance.md ("What to change", fixes 3 and 7):

- one multi-column GIN index instead of one per audience column: a GIN index answers
  conditions on all its columns in one scan and intersects them inside the index, so an
  employee's audience and `participant:` need no BitmapAnd chosen by the planner;
- a statistics target of 1000 (not 100) on the tsvector and audience columns, so that the
  planner knows ten times more of their most common elements and estimates the rest rarer.

`search_table_ddl` now builds tables this way, and 0002 runs it: on a database created after
this change 0002 has already done all of it, so every statement here is idempotent. The
statements are written out, not taken from `search_table_ddl`, so that this migration keeps
meaning what it meant when the contract changes again. The index is built inside the
migration's transaction (no CONCURRENTLY): writes to the search table wait for it (7 s at
1M rows on the benchmark machine), reads do not.
"""

from django.db import migrations

TABLE = "compliance_search_entry"
COLUMNS = ("body_tsv", "body_simple_tsv", "audience_ids", "audience_usernames")

FORWARD = (
    f"CREATE INDEX IF NOT EXISTS {TABLE}_audience ON {TABLE} "
    "USING gin (audience_ids, audience_usernames)",
    f"DROP INDEX IF EXISTS {TABLE}_audience_ids",
    f"DROP INDEX IF EXISTS {TABLE}_audience_usernames",
    f"ALTER TABLE {TABLE} "
    + ", ".join(f"ALTER COLUMN {column} SET STATISTICS 1000" for column in COLUMNS),
    f"ANALYZE {TABLE}",
)
BACKWARD = (
    f"CREATE INDEX IF NOT EXISTS {TABLE}_audience_ids ON {TABLE} USING gin (audience_ids)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_audience_usernames ON {TABLE} "
    "USING gin (audience_usernames)",
    f"DROP INDEX IF EXISTS {TABLE}_audience",
    f"ALTER TABLE {TABLE} "
    + ", ".join(f"ALTER COLUMN {column} SET STATISTICS -1" for column in COLUMNS),
    f"ANALYZE {TABLE}",
)


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_search_table")]

    operations = [migrations.RunPython(forward, backward)]
