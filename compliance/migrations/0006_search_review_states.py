"""The search table gains `review_states` (the `review:` operator, docs/search.md).

On PostgreSQL, 0002 builds tables from the current contract, so on a database created after
this change the column and its index already exist: both statements are idempotent. SQLite
(the embedded default) holds arrays as JSON text.
"""

from django.db import migrations

TABLE = "compliance_search_entry"

POSTGRES = (
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS review_states text[] NOT NULL DEFAULT '{{}}'",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_review_states ON {TABLE} USING gin (review_states)",
)


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        for statement in POSTGRES:
            schema_editor.execute(statement)
        return
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, TABLE)}
    if "review_states" not in columns:
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ADD COLUMN review_states text NOT NULL DEFAULT '[]'"
        )


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN review_states")


class Migration(migrations.Migration):
    dependencies = [("compliance", "0005_scanning_and_review")]

    operations = [migrations.RunPython(forward, backward)]
