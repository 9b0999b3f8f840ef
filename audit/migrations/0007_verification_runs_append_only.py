"""Audit verification runs are append-only like the trail they report on: the auditor's view
shows the last run's outcome, so a run rewritten from "3 problems" to "intact" would hide a
tampering. UPDATE, DELETE and TRUNCATE raise through audit_refuse_change() (migration 0002),
enabled ALWAYS; SQLite gets the same with RAISE(ABORT). The table is in
ledger.append_only.APPEND_ONLY_TABLES, so the application's role gets INSERT and SELECT only.
"""

from django.db import migrations

TABLE = "audit_auditverificationrun"
PG_TRIGGERS = [
    ("append_only", "BEFORE UPDATE OR DELETE", "ROW"),
    ("no_truncate", "BEFORE TRUNCATE", "STATEMENT"),
]
SQLITE_TRIGGERS = [("no_update", "BEFORE UPDATE"), ("no_delete", "BEFORE DELETE")]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = []
        for name, when, per in PG_TRIGGERS:
            statements += [
                f"CREATE TRIGGER {TABLE}_{name} {when} ON {TABLE} "
                f"FOR EACH {per} EXECUTE FUNCTION audit_refuse_change();",
                f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {TABLE}_{name};",
            ]
    elif vendor == "sqlite":
        statements = [
            f"CREATE TRIGGER {TABLE}_{name} {when} ON {TABLE} BEGIN SELECT RAISE(ABORT, "
            f"'audit verification runs are append-only: {when.split()[1]} on {TABLE} refused'); "
            "END;"
            for name, when in SQLITE_TRIGGERS
        ]
    else:
        raise RuntimeError(f"no audit trail triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, *_ in PG_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name} ON {TABLE};")
    else:
        for name, _ in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name};")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_verification_runs_and_view_indexes"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
