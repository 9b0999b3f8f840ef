"""The audit trail becomes a hash chain, and triggers refuse to change or remove its events.

1. The chain's columns and the head row; the events already recorded are chained in id order
   (the back-fill is written out here, so later changes to the writer cannot change it). An
   event's actor username is the one known now: the trail did not keep it before.
2. Triggers. PostgreSQL: UPDATE, DELETE and TRUNCATE of events raise, and are enabled ALWAYS,
   so `session_replication_role = replica` does not silence them; the head may only move
   forward (UPDATE to a higher seq) and is never deleted. SQLite (the embedded default) gets the
   same with RAISE(ABORT). Note that on SQLite a later migration that rebuilds one of these
   tables drops its triggers: such a migration must create them again.
"""

import hashlib
import json

from django.conf import settings
from django.db import migrations, models

GENESIS_HASH = "0" * 64
BATCH = 1000


def _canonical_json(value):
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _chain_hash(prev_hash, canonical):
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical.encode("utf-8")).hexdigest()


def chain_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditHead = apps.get_model("audit", "AuditHead")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    seq, prev_hash, last_id = 0, GENESIS_HASH, 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:BATCH])
        if not batch:
            break
        actor_ids = {event.actor_id for event in batch if event.actor_id is not None}
        usernames = dict(User.objects.filter(id__in=actor_ids).values_list("id", "username"))
        for event in batch:
            seq += 1
            event.seq = seq
            event.actor_username = usernames.get(event.actor_id, "")
            event.canonical = _canonical_json(
                {
                    "seq": seq,
                    "type": event.event_type,
                    "actor": event.actor_id,
                    "actor_username": event.actor_username,
                    "details": event.details,
                    "created_at": event.created_at.isoformat(),
                }
            )
            event.prev_hash = prev_hash
            event.hash = prev_hash = _chain_hash(prev_hash, event.canonical)
        AuditEvent.objects.bulk_update(
            batch, ["seq", "actor_username", "canonical", "prev_hash", "hash"]
        )
        last_id = batch[-1].id
    AuditHead.objects.create(id=1, last_seq=seq, last_hash=prev_hash)


PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = OLD.id AND NEW.last_seq > OLD.last_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: its head only moves forward'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

EVENTS, HEAD = "audit_auditevent", "audit_audithead"
# (table, trigger, timing and event, per, function), PostgreSQL.
PG_TRIGGERS = [
    (EVENTS, "append_only", "BEFORE UPDATE OR DELETE", "ROW", "audit_refuse_change"),
    (EVENTS, "no_truncate", "BEFORE TRUNCATE", "STATEMENT", "audit_refuse_change"),
    (HEAD, "forward_only", "BEFORE UPDATE", "ROW", "audit_head_forward_only"),
    (HEAD, "no_delete", "BEFORE DELETE", "ROW", "audit_refuse_change"),
    (HEAD, "no_truncate", "BEFORE TRUNCATE", "STATEMENT", "audit_refuse_change"),
]
# (table, trigger, timing and event, condition, message), SQLite.
SQLITE_TRIGGERS = [
    (EVENTS, "no_update", "BEFORE UPDATE", "", f"UPDATE on {EVENTS} refused"),
    (EVENTS, "no_delete", "BEFORE DELETE", "", f"DELETE on {EVENTS} refused"),
    (
        HEAD,
        "forward_only",
        "BEFORE UPDATE",
        "WHEN NEW.id <> OLD.id OR NEW.last_seq <= OLD.last_seq",
        "its head only moves forward",
    ),
    (HEAD, "no_delete", "BEFORE DELETE", "", f"DELETE on {HEAD} refused"),
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [PG_FUNCTIONS]
        for table, name, when, per, function in PG_TRIGGERS:
            statements += [
                f"CREATE TRIGGER {table}_{name} {when} ON {table} "
                f"FOR EACH {per} EXECUTE FUNCTION {function}();",
                f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_{name};",
            ]
    elif vendor == "sqlite":
        statements = [
            f"CREATE TRIGGER {table}_{name} {when} ON {table} {condition} "
            f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: {message}'); END;"
            for table, name, when, condition, message in SQLITE_TRIGGERS
        ]
    else:
        raise RuntimeError(f"no audit trail triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, name, *_ in PG_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{name} ON {table};")
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_refuse_change();")
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_head_forward_only();")
    else:
        for table, name, *_ in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{name};")


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("last_seq", models.BigIntegerField(default=0)),
                (
                    "last_hash",
                    models.CharField(default=GENESIS_HASH, max_length=64),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(id=1), name="audit_head_one_row")
                ],
            },
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="actor_username",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="canonical",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(db_index=True),
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
