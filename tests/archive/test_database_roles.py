"""The application's own database role cannot rewrite the archive or the audit trail.

Each test makes a real role, gives it the application's grants as the owner would
(`db_grant_app_role`), logs in as that role on a second connection and plays the insider:
whatever it tries against the append-only tables is refused and leaves every row as it was.
"""

import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from archive import proofs
from archive.models import ArchiveBlob, ArchiveRecord, Checkpoint, VerificationRun
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from archive.verification import verify_archive_in_steps
from audit.checkpoints import audit_checkpoint_create
from audit.models import AuditEvent, AuditEventType
from audit.services import audit_event_record
from audit.tasks import audit_verify_task
from ledger.append_only import APPEND_ONLY_TABLES, COUNTER_TABLES
from tests.archive.helpers import archive_verify, content, public_key_of, records
from tests.archive.roles import attempt, connect_as, database_role, database_url, protected_state
from tests.conftest import ROOT, server_env
from tests.factories import ChannelFactory, send, staged_attachment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("archive_key", "blob_root"),
]


@pytest.fixture
def archive(alice, bob, officer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A row in every append-only table: records, a blob, a checkpoint, a verification run, a
    verification step, kept block roots (blocks of one record), an audit event, an audit
    checkpoint and an audit verification run."""
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel, b"signed contract\n", "contract.txt")
    send(alice, channel, "the contract", attachment_ids=[upload.pk])
    send(bob, channel, "received")
    archive_pending()
    checkpoint = checkpoint_create()
    monkeypatch.setattr(proofs, "PROVER_BLOCK", 1)
    proofs.checkpoint_prover(tree_size=checkpoint.tree_size)
    archive_verify()
    verify_archive_in_steps()
    with transaction.atomic():
        audit_event_record(actor=officer, event_type=AuditEventType.SEARCH_RUN, details={"q": "x"})
    audit_checkpoint_create()
    audit_verify_task()


@pytest.fixture
def app_role() -> Iterator[str]:
    """A role with exactly the application's grants, given by the owner (here the superuser
    that ran the migrations)."""
    with database_role("app") as role:
        call_command("db_grant_app_role", role)
        yield role


@pytest.fixture
def as_app(app_role: str) -> Iterator[psycopg.Connection]:
    with connect_as(app_role) as conn:
        yield conn


WRITES = {
    f"{verb} {table}": statement
    for table in APPEND_ONLY_TABLES
    for verb, statement in {
        "UPDATE": f"UPDATE {table} SET {{column}} = {{column}}",  # noqa: S608
        "DELETE": f"DELETE FROM {table}",  # noqa: S608
        "TRUNCATE": f"TRUNCATE {table}",
    }.items()
}
FIRST_COLUMN = {
    "archive_archiverecord": "canonical",
    "archive_archiveblob": "size",
    "archive_checkpoint": "signature",
    "archive_verificationrun": "problem_count",
    "archive_verificationstep": "problems",
    "archive_archiveblockroot": "root_hash",
    "audit_auditevent": "details",
    "audit_auditcheckpoint": "signature",
    "audit_auditverificationrun": "problem_count",
}


def test_every_append_only_table_has_rows_to_defend(archive):
    assert all(protected_state()[table] for table in APPEND_ONLY_TABLES)


def test_the_application_role_can_update_delete_or_truncate_no_append_only_table(archive, as_app):
    before = protected_state()
    statements = {
        name: statement.format(column=FIRST_COLUMN[name.split()[1]])
        for name, statement in WRITES.items()
    }

    outcomes = {name: attempt(as_app, statement) for name, statement in statements.items()}

    assert outcomes == dict.fromkeys(statements, "refused")
    assert protected_state() == before


def test_the_application_role_cannot_switch_the_triggers_off(archive, as_app):
    before = protected_state()
    switches = {
        f"{table} {which}": f"ALTER TABLE {table} DISABLE TRIGGER {which}"
        for table in APPEND_ONLY_TABLES
        for which in ("USER", "ALL")
    }

    outcomes = {name: attempt(as_app, statement) for name, statement in switches.items()}
    deletes = {
        table: attempt(as_app, f"DELETE FROM {table}")  # noqa: S608
        for table in APPEND_ONLY_TABLES
    }

    assert outcomes == dict.fromkeys(switches, "refused")
    assert deletes == dict.fromkeys(APPEND_ONLY_TABLES, "refused")
    assert protected_state() == before


@pytest.mark.parametrize(
    "door",
    [
        "SET LOCAL eim.archive_disposal = 'on'",
        "SELECT set_config('eim.archive_disposal', 'on', false)",
        "SET LOCAL eim.archive_records_dispose = 'running'",
        "SET LOCAL session_replication_role = replica",
    ],
)
def test_no_setting_opens_a_disposal_door_for_the_application_role(archive, as_app, door):
    before = protected_state()

    outcome = attempt(as_app, door, "DELETE FROM archive_archiverecord")

    assert outcome == "refused"
    assert protected_state() == before


def test_the_application_role_may_not_call_the_disposal_function(archive, as_app):
    before = protected_state()
    last = ArchiveRecord.objects.order_by("-seq").values_list("seq", flat=True).first()

    outcome = attempt(as_app, f"SELECT archive_records_dispose(ARRAY[{last}]::bigint[])")

    assert outcome == "refused"
    assert protected_state() == before


def test_the_counter_row_moves_but_cannot_be_deleted(archive, as_app):
    before = protected_state()

    moved = attempt(as_app, "UPDATE archive_archivehead SET last_seq = last_seq")
    removals = {
        statement: attempt(as_app, statement)
        for table in COUNTER_TABLES
        for statement in (f"DELETE FROM {table}", f"TRUNCATE {table}")  # noqa: S608
    }

    assert moved == "went through"
    assert removals == dict.fromkeys(removals, "refused")
    assert protected_state() == before


def test_the_application_role_reads_and_adds_to_the_append_only_tables(archive, as_app):
    counts = {table: _count(as_app, table) for table in APPEND_ONLY_TABLES}

    added = attempt(
        as_app,
        "INSERT INTO audit_auditevent "
        "(seq, event_type, details, created_at, actor_username, canonical, prev_hash, hash) "
        "VALUES (1000000, 'search.run', '{}', now(), '', '{}', repeat('0', 64), repeat('1', 64))",
    )

    assert all(counts.values())
    assert added == "went through"
    assert AuditEvent.objects.count() == counts["audit_auditevent"] + 1


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[arg-type]  # noqa: S608
    return int(row[0]) if row else 0


def test_every_table_a_trigger_guards_against_delete_is_in_the_registry():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgtype & (8 | 32) > 0"  # fires on DELETE or TRUNCATE
            # The barrier generation's triggers count changes, they guard nothing (chat/0009).
            " AND tgfoid <> 'chat_barrier_generation_bump'::regproc"
        )
        guarded = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL",
            [list(APPEND_ONLY_TABLES + COUNTER_TABLES)],
        )
        missing = cursor.fetchall()

    assert guarded <= set(APPEND_ONLY_TABLES + COUNTER_TABLES)
    assert missing == []


ARCHIVE_AS_THE_APPLICATION = """
from django.db import transaction
from accounts.models import User
from archive.tasks import archive_pending_task, checkpoint_task, verify_task
from audit.models import AuditEventType
from audit.services import audit_event_record
from audit.tasks import audit_verify_task
from eim.chat.models import Conversation
from tests.factories import send, staged_attachment

alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
channel = Conversation.objects.get(pk={channel})
upload = staged_attachment(alice, channel, b"the term sheet\\n", "terms.txt")
send(alice, channel, "sent by the application role", attachment_ids=[upload.pk])
send(bob, channel, "and read back")
print("archived", archive_pending_task())
print("checkpoint", checkpoint_task())
print("problems", verify_task())
with transaction.atomic():
    audit_event_record(actor=bob, event_type=AuditEventType.SEARCH_RUN, details={{"q": "term"}})
"""


def test_a_process_on_the_application_role_archives_a_message_end_to_end(
    alice, bob, app_role, archive_key, blob_root, tmp_path
):
    channel = ChannelFactory(creator=alice, members=[bob])
    env = server_env()
    env.update(
        DATABASE_URL=database_url(app_role),
        EIM_ALLOW_PRIVILEGED_DATABASE_ROLE="false",
        EIM_ARCHIVE_SIGNING_KEY=archive_key,
        EIM_ARCHIVE_PUBLIC_KEY=public_key_of(archive_key),
        EIM_ARCHIVE_BLOB_ROOT=str(blob_root),
        EIM_MEDIA_ROOT=str(tmp_path / "media"),
    )

    run = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--verbosity",
            "0",
            "-c",
            ARCHIVE_AS_THE_APPLICATION.format(channel=channel.pk),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    archived = ArchiveRecord.objects.count()
    printed = dict(zip(*[iter(run.stdout.split())] * 2, strict=True))
    assert printed == {"archived": str(archived), "checkpoint": str(archived), "problems": "0"}
    bodies = [content(r)["payload"].get("message", {}).get("body") for r in records()]
    assert "sent by the application role" in bodies
    assert ArchiveBlob.objects.count() == 1
    assert Checkpoint.objects.get().tree_size == archived
    assert VerificationRun.objects.get().problem_count == 0
    assert AuditEvent.objects.get().details == {"q": "term"}
