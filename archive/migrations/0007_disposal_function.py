"""Disposal through one function owned by the owner role; the setting door is gone.

Until now any session could `SET LOCAL eim.archive_disposal = 'on'` and delete archive records.
Now the trigger lets a DELETE of records through only inside `archive_records_dispose(seqs)`:
a SECURITY DEFINER function, owned by the role that runs the migrations, with a fixed
search_path. It marks its own call (a setting it clears again), and the trigger also requires
the current user to be the table's owner, which inside the function it is and outside it the
application role never is: setting the mark by hand opens nothing. Nobody but the owner may EXECUTE it (retention will get its own grant, behind its
hold check). SQLite's triggers never had a door: nothing changes there.
"""

from django.db import migrations

PG_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION archive_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Only archive_records_dispose() gets past: it runs as the owner and marks its own call.
    -- Qualified names: a session's search_path must not swap in functions of its own.
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'archive_archiverecord'
       AND pg_catalog.current_setting('eim.archive_records_dispose', true) = 'running'
       AND pg_catalog.pg_has_role(
           current_user,
           (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID),
           'MEMBER'
       ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the archive is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

PG_DISPOSE_FUNCTION = """
CREATE OR REPLACE FUNCTION archive_records_dispose(seqs bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp
AS $$
DECLARE
    disposed bigint;
BEGIN
    -- A SET clause on a custom setting needs a superuser (PostgreSQL 15): set it here instead.
    PERFORM pg_catalog.set_config('eim.archive_records_dispose', 'running', true);
    DELETE FROM archive_archiverecord WHERE seq = ANY(seqs);
    GET DIAGNOSTICS disposed = ROW_COUNT;
    PERFORM pg_catalog.set_config('eim.archive_records_dispose', '', true);
    RETURN disposed;
END
$$;
REVOKE ALL ON FUNCTION archive_records_dispose(bigint[]) FROM PUBLIC;
"""

# Migration 0002's function, with the setting door, for a migration back.
PG_TRIGGER_FUNCTION_WITH_DOOR = """
CREATE OR REPLACE FUNCTION archive_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'archive_archiverecord'
       AND current_setting('eim.archive_disposal', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the archive is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    schema_editor.execute(PG_TRIGGER_FUNCTION, params=None)
    schema_editor.execute(
        PG_DISPOSE_FUNCTION.format(schema=schema_editor.quote_name(schema)), params=None
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP FUNCTION IF EXISTS archive_records_dispose(bigint[]);")
    schema_editor.execute(PG_TRIGGER_FUNCTION_WITH_DOOR, params=None)


class Migration(migrations.Migration):
    dependencies = [("archive", "0006_verification_steps")]
    operations = [migrations.RunPython(create, drop)]
