"""The audit trail moved to the `audit` app (every app writes it, not only compliance): copy
the events, in order and with their ids and times, then drop the old table."""

from django.db import migrations


def copy_events(apps, schema_editor):
    old = apps.get_model("compliance", "AuditEvent")
    new = apps.get_model("audit", "AuditEvent")
    new.objects.bulk_create(
        new(
            id=event.id,
            actor_id=event.actor_id,
            event_type=event.event_type,
            details=event.details,
            created_at=event.created_at,
        )
        for event in old.objects.order_by("id").iterator()
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), "
            "GREATEST((SELECT MAX(id) FROM audit_auditevent), 1))"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_search_audience_index_and_statistics"),
        ("audit", "0001_initial"),
    ]
    # The audit trail's chain (audit 0002) is back-filled over the events copied here.
    run_before = [("audit", "0002_hash_chain_and_append_only_triggers")]

    operations = [
        migrations.RunPython(copy_events, migrations.RunPython.noop),
        migrations.DeleteModel(name="AuditEvent"),
    ]
