"""Checkpoints chain to the one before (v2 statements); verification runs are chained and
append-only like the rest of the archive.

The checkpoint's new columns are nullable, so adding them rewrites no row (the triggers refuse
UPDATE; on SQLite a NOT NULL column would rebuild the table without its triggers). Runs made
before this migration are chained in order, then their triggers are created.
"""

import hashlib
import json

from django.db import migrations, models

TABLE = "archive_verificationrun"
GENESIS = "0" * 64


def chain_existing_runs(apps, schema_editor):
    VerificationRun = apps.get_model("archive", "VerificationRun")
    prev_hash = GENESIS
    for run in VerificationRun.objects.order_by("pk"):
        content = json.dumps(
            {
                "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat(),
                "incremental": run.incremental,
                "from_seq": run.from_seq,
                "verified_tree_size": run.verified_tree_size,
                "problem_count": run.problem_count,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        run_hash = hashlib.sha256(bytes.fromhex(prev_hash) + content.encode()).hexdigest()
        VerificationRun.objects.filter(pk=run.pk).update(prev_hash=prev_hash, hash=run_hash)
        prev_hash = run_hash


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION archive_refuse_change();",
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION archive_refuse_change();",
            f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {TABLE}_append_only;",
            f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {TABLE}_no_truncate;",
        ]
    elif vendor == "sqlite":
        # 0004's AlterField rebuilt archive_archiverecord on SQLite, which dropped its triggers:
        # they come back here too.
        statements = [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the archive is append-only: {op} on {table} refused'); "
            "END;"
            for table in (TABLE, "archive_archiverecord")
            for op in ("UPDATE", "DELETE")
        ]
    else:
        raise RuntimeError(f"no archive triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        names = [f"{TABLE}_append_only", f"{TABLE}_no_truncate"]
        for name in names:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {TABLE};")
    else:
        for name in [f"{TABLE}_no_update", f"{TABLE}_no_delete"]:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0004_record_conversation_type_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="checkpoint",
            name="prev_statement_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="checkpoint",
            name="prev_tree_size",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="checkpoint",
            name="version",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="verificationrun",
            name="hash",
            field=models.CharField(
                default="0000000000000000000000000000000000000000000000000000000000000000",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="verificationrun",
            name="prev_hash",
            field=models.CharField(
                default="0000000000000000000000000000000000000000000000000000000000000000",
                max_length=64,
            ),
        ),
        migrations.RunPython(chain_existing_runs, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
