"""Audit checkpoints: signed Merkle tree heads over the audit trail, append-only like its events.

PostgreSQL: UPDATE, DELETE and TRUNCATE raise through audit_refuse_change() (migration 0002),
enabled ALWAYS. SQLite gets the same with RAISE(ABORT).
"""

from django.db import migrations, models

TABLE = "audit_auditcheckpoint"
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
            f"'the audit trail is append-only: {when.split()[1]} on {TABLE} refused'); END;"
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
        ("audit", "0003_event_types"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("tree_size", models.BigIntegerField(primary_key=True, serialize=False)),
                ("root_hash", models.CharField(max_length=64)),
                ("head_hash", models.CharField(max_length=64)),
                ("signed_at", models.DateTimeField()),
                ("key_id", models.CharField(max_length=64)),
                ("signature", models.CharField(max_length=128)),
                ("frontier", models.JSONField()),
                ("prev_tree_size", models.BigIntegerField()),
                ("prev_statement_hash", models.CharField(max_length=64)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
