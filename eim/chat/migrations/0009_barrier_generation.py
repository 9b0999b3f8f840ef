"""The barrier generation (`BarrierGeneration`): one row that changes in the same transaction as
every change to what the mention check reads, so a process can keep those facts in memory and
know from the send statement whether they are still the database's (docs/barriers.md).

On PostgreSQL, AFTER triggers on the policies, their versions and group memberships bump it once
per statement that changed a row (statement-level with a transition table, so a SCIM PATCH of
10,000 members is one bump, and a statement that changed nothing is none), and on any TRUNCATE;
a row trigger bumps it when a username changes. `chat_barrier_generation()` is what the send
statement calls: VOLATILE, so it reads the row with a snapshot taken after the conversation's
row lock, not the statement's first one. SQLite keeps no generation and checks every time.
"""

from django.db import migrations, models

SEQUENCE = "chat_barrier_generation_seq"
# Tables whose rows are the mention check's facts, bumped once per statement that changed any.
STATEMENT_TABLES = ("accounts_groupmembership", "chat_barrierpolicy", "chat_barrierpolicyversion")
# (trigger suffix, event, transition table)
STATEMENT_EVENTS = (("ins", "INSERT", "NEW"), ("upd", "UPDATE", "NEW"), ("del", "DELETE", "OLD"))
TRUNCATE_TABLES = (*STATEMENT_TABLES, "accounts_user")

BUMP = """
CREATE FUNCTION chat_barrier_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' AND TG_OP <> 'TRUNCATE' THEN
        IF NOT EXISTS (SELECT 1 FROM changed) THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO chat_barriergeneration (id, value)
    VALUES (1, nextval('chat_barrier_generation_seq'))
    ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value;
    RETURN NULL;
END
$$;
"""

READ = """
CREATE FUNCTION chat_barrier_generation() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT value FROM chat_barriergeneration WHERE id = 1);
END
$$;
"""


def _trigger_statements() -> list[str]:
    statements = []
    for table in STATEMENT_TABLES:
        for suffix, event, transition in STATEMENT_EVENTS:
            statements.append(
                f"CREATE TRIGGER {table}_barrier_gen_{suffix} AFTER {event} ON {table} "
                f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                "EXECUTE FUNCTION chat_barrier_generation_bump();"
            )
    for table in TRUNCATE_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_barrier_gen_trunc AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION chat_barrier_generation_bump();"
        )
    statements.append(
        "CREATE TRIGGER accounts_user_barrier_gen_username AFTER UPDATE OF username "
        "ON accounts_user FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username) "
        "EXECUTE FUNCTION chat_barrier_generation_bump();"
    )
    return statements


def _trigger_names() -> list[tuple[str, str]]:
    names = [
        (table, f"{table}_barrier_gen_{suffix}")
        for table in STATEMENT_TABLES
        for suffix, *_ in STATEMENT_EVENTS
    ]
    names += [(table, f"{table}_barrier_gen_trunc") for table in TRUNCATE_TABLES]
    return [*names, ("accounts_user", "accounts_user_barrier_gen_username")]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [
        f"CREATE SEQUENCE {SEQUENCE};",
        "INSERT INTO chat_barriergeneration (id, value) "
        "VALUES (1, nextval('chat_barrier_generation_seq'));",
        BUMP,
        READ,
        *_trigger_statements(),
    ]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name in _trigger_names():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS chat_barrier_generation();")
    schema_editor.execute("DROP FUNCTION IF EXISTS chat_barrier_generation_bump();")
    schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE};")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_user_last_seen"),
        ("chat", "0008_chat_preferences"),
    ]

    operations = [
        migrations.CreateModel(
            name="BarrierGeneration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
