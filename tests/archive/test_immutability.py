"""Nothing changes an archive row: not the ORM, not raw SQL, not a replica-role session.

The one door is `archive_records_dispose(seqs)`, run as the owner: the setting that used to open
DELETE of records to any session opens nothing (tests/archive/test_database_roles.py plays the
application's own role).
"""

from collections.abc import Callable
from functools import partial

import pytest
from django.db import connection, transaction

from archive.models import ArchiveBlob, ArchiveRecord, Checkpoint
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from tests.archive.helpers import ARCHIVE_TABLES, outcome, sql
from tests.factories import ChannelFactory, send, staged_attachment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("archive_key", "blob_root"),
]


@pytest.fixture
def archive(alice, bob) -> None:  # type: ignore[no-untyped-def]
    """Records, a blob and a signed checkpoint."""
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel, b"signed contract\n", "contract.txt")
    send(alice, channel, "the contract", attachment_ids=[upload.pk])
    send(bob, channel, "received")
    archive_pending()
    checkpoint_create()


def archive_state() -> dict[str, list[tuple]]:
    """Every row of the three append-only tables, exactly as stored."""
    state = {}
    with connection.cursor() as cursor:
        for table in ARCHIVE_TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608
            state[table] = cursor.fetchall()
    return state


ORM_WRITES: dict[str, Callable[[], object]] = {
    "record.save": lambda: ArchiveRecord.objects.first().save(),
    "record.save(update_fields)": lambda: ArchiveRecord.objects.first().save(
        update_fields=["canonical"]
    ),
    "record.delete": lambda: ArchiveRecord.objects.first().delete(),
    "blob.save": lambda: ArchiveBlob.objects.first().save(),
    "blob.delete": lambda: ArchiveBlob.objects.first().delete(),
    "checkpoint.save": lambda: Checkpoint.objects.first().save(),
    "checkpoint.delete": lambda: Checkpoint.objects.first().delete(),
}

QUERYSET_WRITES: dict[str, Callable[[], object]] = {
    "records.update": lambda: ArchiveRecord.objects.filter(seq=2).update(canonical="{}"),
    "records.delete": lambda: ArchiveRecord.objects.filter(seq=2).delete(),
    "all records.delete": lambda: ArchiveRecord.objects.all().delete(),
    "blobs.update": lambda: ArchiveBlob.objects.update(size=0),
    "blobs.delete": lambda: ArchiveBlob.objects.all().delete(),
    "checkpoints.update": lambda: Checkpoint.objects.update(root_hash="0" * 64),
    "checkpoints.delete": lambda: Checkpoint.objects.all().delete(),
}

SQL_WRITES = {
    "archive_archiverecord": [
        "UPDATE archive_archiverecord SET canonical = '{}' WHERE seq = 2",
        "UPDATE archive_archiverecord SET occurred_at = occurred_at - interval '1 day'",
        "DELETE FROM archive_archiverecord WHERE seq = 2",
        "DELETE FROM archive_archiverecord",
        "TRUNCATE archive_archiverecord",
    ],
    "archive_archiveblob": [
        "UPDATE archive_archiveblob SET size = 0",
        "DELETE FROM archive_archiveblob",
        "TRUNCATE archive_archiveblob",
    ],
    "archive_checkpoint": [
        "UPDATE archive_checkpoint SET signature = 'forged'",
        "DELETE FROM archive_checkpoint",
        "TRUNCATE archive_checkpoint",
    ],
}
SQL_CASES = [statement for statements in SQL_WRITES.values() for statement in statements]


def _run(*statements: str) -> None:
    for statement in statements:
        sql(statement)


def _each(statements: list[str], *, setup: tuple[str, ...] = ()) -> dict[str, Callable[[], None]]:
    """Each statement as a write in a transaction of its own, after the `setup` statements."""
    return {statement: partial(_run, *setup, statement) for statement in statements}


def test_the_models_refuse_to_save_over_or_delete_a_row(archive):
    before = archive_state()

    outcomes = {name: outcome(write) for name, write in ORM_WRITES.items()}

    assert outcomes == dict.fromkeys(ORM_WRITES, "refused")
    assert archive_state() == before


def test_the_database_refuses_queryset_updates_and_deletes(archive):
    before = archive_state()

    outcomes = {name: outcome(write) for name, write in QUERYSET_WRITES.items()}

    assert outcomes == dict.fromkeys(QUERYSET_WRITES, "refused")
    assert archive_state() == before


def test_the_database_refuses_raw_update_delete_and_truncate(archive):
    before = archive_state()

    outcomes = {name: outcome(write) for name, write in _each(SQL_CASES).items()}

    assert outcomes == dict.fromkeys(SQL_CASES, "refused")
    assert archive_state() == before


def test_a_replica_role_session_does_not_silence_the_triggers(archive):
    before = archive_state()
    replica = _each(SQL_CASES, setup=("SET LOCAL session_replication_role = replica",))

    outcomes = {name: outcome(write) for name, write in replica.items()}

    assert outcomes == dict.fromkeys(SQL_CASES, "refused")
    assert archive_state() == before


def test_every_archive_trigger_fires_always():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'archive_%%' ORDER BY 1, 2"
        )
        triggers = cursor.fetchall()

    assert triggers == [
        (table, f"{table}_{kind}", "A")
        for table in sorted(ARCHIVE_TABLES)
        for kind in ("append_only", "no_truncate")
    ]


def test_the_old_disposal_setting_opens_nothing_any_more(archive):
    before = archive_state()
    values = ["on", "off", "true", "1", "ON", "on "]
    attempts = {
        value: lambda value=value: (
            sql("SELECT set_config('eim.archive_disposal', %s, true)", [value]),
            sql("DELETE FROM archive_archiverecord WHERE seq = 2"),
        )
        for value in values
    }

    outcomes = {value: outcome(write) for value, write in attempts.items()}

    assert outcomes == dict.fromkeys(values, "refused")
    assert archive_state() == before


def test_the_owner_disposes_of_records_through_the_disposal_function(archive):
    last = ArchiveRecord.objects.order_by("-seq").first()

    with connection.cursor() as cursor:
        cursor.execute("SELECT archive_records_dispose(%s)", [[last.seq]])
        disposed = cursor.fetchone()[0]

    assert disposed == 1
    assert not ArchiveRecord.objects.filter(seq=last.seq).exists()
    assert ArchiveRecord.objects.count() == last.seq - 1


def test_the_disposal_function_leaves_no_door_open_behind_it(archive):
    last = ArchiveRecord.objects.order_by("-seq").first()
    with transaction.atomic():
        sql("SELECT archive_records_dispose(%s)", [[last.seq]])
    before = archive_state()

    afterwards = outcome(
        lambda: (
            sql("SELECT archive_records_dispose(%s)", [[]]),
            sql("DELETE FROM archive_archiverecord WHERE seq = 2"),
        )
    )

    assert afterwards == "refused"
    assert archive_state() == before


def test_the_disposal_function_is_not_for_everyone():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.prosecdef, p.proconfig, p.proacl::text[] FROM pg_proc p "
            "WHERE p.oid = to_regprocedure('archive_records_dispose(bigint[])')"
        )
        definer, config, acl = cursor.fetchone()
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]

    assert definer is True
    assert config == ["search_path=public, pg_temp"]
    assert acl == [f"{owner}=X/{owner}"]  # EXECUTE for the owner alone, none for PUBLIC
