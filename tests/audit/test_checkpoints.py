"""Signed, witnessed audit checkpoints, and audit_verify against the insider who re-hashes.

Each tamper case plays a database superuser: triggers off, rows changed, triggers back on. The
witness directory is out of their reach.
"""

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from audit.checkpoints import audit_checkpoint_create, signed_audit_checkpoint
from audit.models import AuditCheckpoint, AuditEvent, AuditEventType
from audit.tasks import audit_checkpoint_task
from audit.verification import verify_audit_trail
from ledger import signing
from ledger.checkpoints import NO_STATEMENT, checkpoint_from_file
from ledger.witness import checkpoint_file_name
from tests.archive.helpers import new_private_key_pem, public_key_of
from tests.audit.helpers import audit_verify, places, rehash_from, sql, triggers_bypassed
from tests.factories import audited

pytestmark = pytest.mark.django_db(transaction=True)

FORGED = {"query": "lunch", "result_count": 0}
BROKEN_PEM = "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n"


@pytest.fixture
def trail(officer, alice) -> None:  # type: ignore[no-untyped-def]
    """Six events, seq 1..6, with checkpoints at 4 and 6."""
    audited(officer, query="insider", result_count=3)
    audited(officer, AuditEventType.MESSAGE_VIEWED, message_id=7)
    audited(officer, query="merger NEAR/5 target", result_count=12)
    audited(alice, AuditEventType.CONTEXT_VIEWED, message_id=7, before=5)
    audit_checkpoint_create()
    audited(None, AuditEventType.EXPORT_MADE, files=2)
    audited(officer, AuditEventType.VERSION_HISTORY_VIEWED, message_id=9)
    audit_checkpoint_create()


def witness_file(witness_dir: Path, tree_size: int) -> Path:
    return witness_dir / checkpoint_file_name("audit", tree_size)


def test_checkpoints_are_signed_chained_and_kept_by_the_witness(trail, witness_dir):
    first, second = AuditCheckpoint.objects.order_by("tree_size")

    assert (first.tree_size, first.prev_tree_size, first.prev_statement_hash) == (
        4,
        0,
        NO_STATEMENT,
    )
    assert (second.tree_size, second.prev_tree_size) == (6, 4)
    assert second.prev_statement_hash == signed_audit_checkpoint(first).statement_hash()
    for row in (first, second):
        kept = witness_file(witness_dir, row.tree_size).read_bytes()
        assert checkpoint_from_file(kept, ledger="audit") == signed_audit_checkpoint(row)
    assert audit_verify() == (
        0,
        {
            "events": 6,
            "last_seq": 6,
            "head_seq": 6,
            "checkpoints": 2,
            "problems": [],
            "ok": True,
        },
    )


def test_the_writers_never_sign(officer):
    audited(officer, query="insider", result_count=3)

    assert not AuditCheckpoint.objects.exists()


def test_the_task_signs_when_enough_events_await_a_checkpoint(officer, witness_dir):
    audited(officer, query="insider", result_count=3)
    audited(officer, query="insider", result_count=4)

    with override_settings(EIM_AUDIT_CHECKPOINT_EVERY=3, EIM_AUDIT_CHECKPOINT_INTERVAL=300):
        early = audit_checkpoint_task()
        audited(officer, query="insider", result_count=5)
        due = audit_checkpoint_task()

    assert (early, due) == (None, 3)
    assert witness_file(witness_dir, 3).exists()


def test_the_task_signs_when_the_oldest_event_has_waited_long_enough(officer):
    audited(officer, query="insider", result_count=3)

    with override_settings(EIM_AUDIT_CHECKPOINT_EVERY=1000, EIM_AUDIT_CHECKPOINT_INTERVAL=0):
        signed = audit_checkpoint_task()

    assert signed == 1


def test_the_task_gives_a_witness_the_checkpoints_it_missed(trail, witness_dir):
    shutil.rmtree(witness_dir)

    audit_checkpoint_task()

    assert sorted(p.name for p in witness_dir.iterdir()) == [
        checkpoint_file_name("audit", 4),
        checkpoint_file_name("audit", 6),
    ]


def test_a_rehash_from_an_edited_event_with_the_head_moved_is_detected(trail):
    rehash_from(3, FORGED)

    code, report = audit_verify()

    assert code == 1
    assert places(report) == [
        ("checkpoint", 4, 4),
        ("checkpoint", 4, 4),
        ("checkpoint", 6, 6),
        ("checkpoint", 6, 6),
    ]


def test_a_rehash_with_every_checkpoint_deleted_is_detected_through_the_witness(trail):
    rehash_from(3, FORGED)
    with triggers_bypassed():
        sql("DELETE FROM audit_auditcheckpoint")

    code, report = audit_verify()

    assert code == 1
    assert places(report) == [
        ("witness", None, 4),
        ("checkpoint", 4, 4),
        ("checkpoint", 4, 4),
        ("witness", None, 6),
        ("checkpoint", 6, 6),
        ("checkpoint", 6, 6),
    ]


def test_the_newest_events_deleted_with_the_head_moved_back_are_detected(trail):
    event_4_hash = AuditEvent.objects.get(seq=4).hash
    with triggers_bypassed():
        sql("DELETE FROM audit_auditevent WHERE seq > 4")
        sql("UPDATE audit_audithead SET last_seq = 4, last_hash = %s", [event_4_hash])

    code, report = audit_verify()

    assert (code, places(report)) == (1, [("checkpoint", None, 6)])
    assert report["problems"][0]["detail"] == "signed over 6 events, but the trail ends at 4"


def test_every_checkpoint_deleted_is_detected_through_the_witness(trail):
    with triggers_bypassed():
        sql("DELETE FROM audit_auditcheckpoint")

    code, report = audit_verify()

    assert (code, places(report)) == (1, [("witness", None, 4), ("witness", None, 6)])
    assert "missing from the database" in report["problems"][0]["detail"]


def test_the_newest_checkpoint_deleted_is_detected_through_the_witness(trail):
    with triggers_bypassed():
        sql("DELETE FROM audit_auditcheckpoint WHERE tree_size = 6")

    code, report = audit_verify()

    assert (code, places(report)) == (1, [("witness", None, 6)])


def test_a_checkpoint_missing_from_the_witness_is_detected(trail, witness_dir):
    witness_file(witness_dir, 6).unlink()

    report = verify_audit_trail(now=timezone.now() + timedelta(hours=1))

    assert [(p.kind, p.checkpoint, p.detail) for p in report.problems] == [
        ("witness", 6, f"missing from witness directory {witness_dir}")
    ]


def test_a_tampered_witness_file_is_detected(trail, witness_dir):
    path = witness_file(witness_dir, 6)
    document = json.loads(path.read_bytes())
    document["statement"]["root_hash"] = "ab" * 32
    path.chmod(0o644)
    path.write_text(json.dumps(document))

    code, report = audit_verify()

    assert code == 1
    assert places(report)[:2] == [("witness", None, 6), ("signature", None, 6)]
    assert "differs from witness" in report["problems"][0]["detail"]
    assert "root_hash" in report["problems"][0]["detail"]


def test_events_waiting_too_long_for_a_checkpoint_are_reported_with_the_age(trail, officer):
    audited(officer, query="late", result_count=1)

    report = verify_audit_trail(now=timezone.now() + timedelta(hours=2, minutes=5))

    assert [(p.kind, p.seq, p.checkpoint) for p in report.problems] == [("freshness", 7, 6)]
    assert "event 7 has waited 2 h 5 min (bound 30 min)" in report.problems[0].detail
    assert "the newest checkpoint, 6, was signed 2 h 5 min ago" in report.problems[0].detail


def test_a_trusted_checkpoint_catches_a_rehash_even_with_witness_and_database_gone(
    trail, witness_dir, tmp_path
):
    trusted = tmp_path / "trusted.json"
    trusted.write_bytes(witness_file(witness_dir, 4).read_bytes())
    rehash_from(3, FORGED)
    with triggers_bypassed():
        sql("DELETE FROM audit_auditcheckpoint")
    shutil.rmtree(witness_dir)

    code, report = audit_verify("--trusted-checkpoint", str(trusted))

    assert code == 1
    assert [p for p in places(report) if p[0] == "trusted"] == [("trusted", 4, 4)] * 2


def test_verification_needs_only_the_public_key(trail, audit_key, tmp_path):
    public = tmp_path / "public.pem"
    public.write_text(public_key_of(audit_key))
    signing.signing_key.cache_clear()

    with override_settings(EIM_ARCHIVE_SIGNING_KEY="", EIM_ARCHIVE_PUBLIC_KEY=""):
        code, report = audit_verify("--public-key", str(public))

    assert (code, report["checkpoints"]) == (0, 2)


def test_checkpoints_signed_by_another_key_are_detected(trail, tmp_path):
    other = tmp_path / "other.pem"
    other.write_text(public_key_of(new_private_key_pem()))

    code, report = audit_verify("--public-key", str(other))

    assert (code, places(report)) == (1, [("signature", None, 4), ("signature", None, 6)])


@pytest.mark.parametrize("content", [None, "not a key", BROKEN_PEM], ids=["missing", "text", "pem"])
def test_a_public_key_file_that_holds_no_key_is_refused_with_a_clear_error(
    trail, tmp_path, content
):
    key_file = tmp_path / "pub.pem"
    if content is not None:
        key_file.write_text(content)
    events = list(AuditEvent.objects.values_list("seq", "hash"))

    with pytest.raises(CommandError, match=f"--public-key {key_file}: "):
        audit_verify("--public-key", str(key_file))

    assert list(AuditEvent.objects.values_list("seq", "hash")) == events


def test_without_a_public_key_verification_says_what_to_set(trail):
    with (
        override_settings(EIM_ARCHIVE_PUBLIC_KEY="", EIM_ARCHIVE_PUBLIC_KEY_FILE=""),
        pytest.raises(CommandError, match="set EIM_ARCHIVE_PUBLIC_KEY_FILE"),
    ):
        audit_verify()


def test_an_intact_trail_extends_its_trusted_checkpoint(trail, witness_dir, tmp_path):
    trusted = tmp_path / "trusted.json"
    trusted.write_bytes(witness_file(witness_dir, 4).read_bytes())

    code, report = audit_verify("--trusted-checkpoint", str(trusted))

    assert (code, report["problems"]) == (0, [])


def test_a_file_that_is_not_an_audit_checkpoint_is_refused_with_a_clear_error(trail, tmp_path):
    document = json.loads(
        signed_audit_checkpoint(AuditCheckpoint.objects.get(tree_size=4)).to_file()
    )
    document["statement"]["ledger"] = "archive"
    archive_file = tmp_path / "archive.json"
    archive_file.write_text(json.dumps(document))

    with pytest.raises(CommandError, match="is not an audit checkpoint file"):
        audit_verify("--trusted-checkpoint", str(archive_file))


def test_problems_are_printed_with_their_checkpoint(trail, capsys):
    rehash_from(3, FORGED)
    with triggers_bypassed():
        sql("DELETE FROM audit_auditcheckpoint WHERE tree_size = 6")

    with pytest.raises(SystemExit):
        call_command("audit_verify")

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Checked 6 audit events (seq 1..6) and 2 signed checkpoints; the head is at 6."
    assert (
        "  [witness] checkpoint 6: kept by the witnesses but missing from the database "
        "(removed)" in out
    )
    assert (
        "  [checkpoint] seq 4, checkpoint 4: the event at this size is not the one that was "
        "signed" in out
    )
