"""The insider's tamper suite against the witnessed checkpoints (issue 9, findings 1 and 2).

A database superuser may rewrite any row, re-hash the chain and delete checkpoints; the
witness directory is out of their reach. Each case is detected and names where it is.
"""

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone

from archive.models import ArchiveRecord, Checkpoint, VerificationRun
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from archive.verification import verify_archive
from archive.verification.runs import run_content
from eim.chat.models import ConversationEvent, Message
from ledger import merkle
from ledger.canonical import chain_hash
from ledger.witness import checkpoint_file_name
from tests.archive.helpers import (
    archive_verify,
    at,
    outcome,
    problems,
    rehash_from,
    sql,
    triggers_bypassed,
    witness_settings,
)
from tests.archive.sealed import EARLY, LATE, REWRITE, SealedArchive, body_changed, message_of
from tests.factories import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def witness_dir(sealed: SealedArchive) -> Path:
    return sealed.witness


def _witness_file(sealed: SealedArchive, tree_size: int) -> Path:
    return sealed.witness / checkpoint_file_name("archive", tree_size)


@pytest.fixture
def witness_files(sealed: SealedArchive):  # type: ignore[no-untyped-def]
    """The witness files are put back as they were after the test."""
    kept = {path: path.read_bytes() for path in sealed.witness.glob("archive-*.json")}
    yield kept
    for path, data in kept.items():
        path.unlink(missing_ok=True)
        path.write_bytes(data)
        path.chmod(0o444)


def _rewrite_everywhere(seq: int, body: str) -> None:
    """The forger's whole job: the record, its outbox event and the live message agree."""
    forged = body_changed(seq, body)
    ConversationEvent.objects.filter(archived_seq=seq).update(payload=json.loads(forged)["payload"])
    Message.objects.filter(pk=message_of(seq)).update(body=body)
    rehash_from(seq, forged)


def test_a_rehash_everywhere_and_every_checkpoint_deleted_is_detected(sealed):
    _rewrite_everywhere(LATE, "reply 2, rewritten everywhere")
    with triggers_bypassed("archive_checkpoint"):
        sql("DELETE FROM archive_checkpoint")

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        at("witness", checkpoint=15),
        at("witness", checkpoint=30),
        at("checkpoint", 30, checkpoint=30),
        at("checkpoint", 30, checkpoint=30),
    ]
    assert report["problems"][1]["detail"] == (
        "kept by the witnesses but missing from the database (removed)"
    )
    assert report["problems"][2]["detail"].startswith(
        "records 16..30 no longer match the signed Merkle root"
    )


def test_deleting_only_the_newest_checkpoint_is_detected(sealed):
    with triggers_bypassed("archive_checkpoint"):
        sql("DELETE FROM archive_checkpoint WHERE tree_size = 30")

    full = archive_verify()
    incremental = archive_verify("--incremental")

    assert full[0] == incremental[0] == 1
    assert problems(full[1]) == problems(incremental[1]) == [at("witness", checkpoint=30)]
    assert incremental[1]["from_seq"] == 16


def test_a_tampered_witness_file_is_detected(sealed, witness_files):
    path = _witness_file(sealed, 15)
    document = json.loads(path.read_bytes())
    document["statement"]["root_hash"] = "ab" * 32
    path.chmod(0o644)
    path.write_text(json.dumps(document, sort_keys=True, separators=(",", ":")))

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        at("witness", checkpoint=15),
        at("signature", checkpoint=15),
        at("checkpoint", 15, checkpoint=15),
    ]
    assert report["problems"][0]["detail"].endswith("in root_hash")


def test_a_removed_witness_file_is_detected_after_the_grace_period(sealed, witness_files):
    _witness_file(sealed, 30).unlink()

    with override_settings(EIM_ARCHIVE_WITNESS_GRACE=0):
        code, report = archive_verify()

    assert code == 1
    assert problems(report) == [at("witness", checkpoint=30)]
    assert report["problems"][0]["detail"] == f"missing from witness directory {sealed.witness}"


def test_a_checkpoint_not_yet_witnessed_is_given_the_grace_period(sealed, witness_files):
    _witness_file(sealed, 30).unlink()

    with override_settings(EIM_ARCHIVE_WITNESS_GRACE=3600):
        code, report = archive_verify()

    assert (code, report["problems"]) == (0, [])


def test_the_next_checkpoint_task_gives_the_witness_what_it_missed(sealed, tmp_path):
    witness = tmp_path / "witness"
    shutil.copytree(sealed.witness, witness)
    lost = witness / checkpoint_file_name("archive", 30)
    kept = lost.read_bytes()
    lost.unlink()
    send(sealed.alice, sealed.channel, "after the lost copy")
    archive_pending()

    with override_settings(EIM_WITNESSES=witness_settings(witness), EIM_ARCHIVE_WITNESS_GRACE=0):
        checkpoint = checkpoint_create()
        code, _ = archive_verify()

    assert checkpoint.tree_size == 31
    assert lost.read_bytes() == kept
    assert (witness / checkpoint_file_name("archive", 31)).stat().st_mode & 0o777 == 0o444
    assert code == 0


# --- Verification runs are not trusted -------------------------------------------------------


def _forge_clean_run(verified_tree_size: int) -> None:
    last = VerificationRun.objects.order_by("-pk").first()
    run = VerificationRun(
        started_at=timezone.now(),
        finished_at=timezone.now(),
        incremental=False,
        from_seq=1,
        verified_tree_size=verified_tree_size,
        problem_count=0,
        prev_hash=last.hash if last else "0" * 64,
    )
    run.hash = chain_hash(run.prev_hash, run_content(run))
    run.save()


def test_a_forged_clean_run_does_not_move_the_incremental_start(sealed):
    archive_verify()
    with triggers_bypassed():
        sql(REWRITE, [body_changed(EARLY, "message 4, quietly reworded"), EARLY])
    _forge_clean_run(verified_tree_size=10_000)

    code, report = archive_verify("--incremental")

    assert code == 1
    assert problems(report) == [at("hash", EARLY), at("content", EARLY)]


def test_verification_runs_are_append_only_and_chained(sealed):
    archive_verify()
    archive_verify()
    run = VerificationRun.objects.order_by("pk").first()

    update = outcome(lambda: VerificationRun.objects.filter(pk=run.pk).update(problem_count=0))
    delete = outcome(lambda: VerificationRun.objects.filter(pk=run.pk).delete())
    with triggers_bypassed("archive_verificationrun"):
        sql("UPDATE archive_verificationrun SET verified_tree_size = 99 WHERE id = %s", [run.pk])
    code, report = archive_verify()

    assert (update, delete) == ("refused", "refused")
    assert code == 1
    assert [p["detail"] for p in report["problems"]] == [
        f"verification run {run.pk} does not hash to its stored hash"
    ]


# --- Older records on the rotation -----------------------------------------------------------


def test_a_record_older_than_the_incremental_start_is_detected_by_the_incremental_run(sealed):
    with triggers_bypassed():
        sql(REWRITE, [body_changed(EARLY, "message 4, quietly reworded"), EARLY])

    code, report = archive_verify("--incremental")

    assert code == 1
    assert report["from_seq"] == 31
    assert problems(report) == [at("hash", EARLY), at("content", EARLY)]


def test_each_older_record_is_reverified_within_one_rotation(sealed):
    with triggers_bypassed():
        sql(REWRITE, [body_changed(EARLY, "message 4, quietly reworded"), EARLY])
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    hour -= timedelta(hours=int(hour.timestamp() // 3600) % 3)  # the first slot of three

    with override_settings(EIM_ARCHIVE_VERIFY_WINDOW=10):
        runs = [
            verify_archive(incremental=True, now=hour + timedelta(hours=h), record_run=False)
            for h in range(3)
        ]

    assert [run.window for run in runs] == [[1, 10], [1, 20], [16, 30]]
    assert [[(p.kind, p.seq) for p in run.problems] for run in runs] == [
        [("hash", EARLY), ("content", EARLY)],
        [("hash", EARLY), ("content", EARLY)],
        [],
    ]
    assert all(run.from_seq == 31 for run in runs)


# --- Freshness -------------------------------------------------------------------------------


def test_records_waiting_too_long_for_a_checkpoint_are_reported_with_the_age(sealed):
    for i in range(3):
        send(sealed.alice, sealed.channel, f"never signed {i}")
    archive_pending()
    later = timezone.now() + timedelta(hours=2, minutes=5)

    report = verify_archive(now=later, record_run=False, grace=timedelta(days=1))

    assert [(p.kind, p.seq, p.checkpoint) for p in report.problems] == [("freshness", 31, 30)]
    detail = report.problems[0].detail
    assert detail.startswith("records 31..33 have no checkpoint: record 31 has waited 2 h 5 min")
    assert "(bound 30 min); the newest checkpoint, 30, was signed 2 h " in detail


def test_records_within_the_bound_are_not_stale(sealed):
    send(sealed.alice, sealed.channel, "signed soon")
    archive_pending()

    code, report = archive_verify()

    assert (code, report["problems"]) == (0, [])


# --- A checkpoint kept by a customer or a regulator ------------------------------------------


def test_the_archive_extends_a_trusted_checkpoint(sealed, tmp_path):
    kept = tmp_path / "kept-by-the-regulator.json"
    shutil.copy(_witness_file(sealed, 15), kept)

    code, report = archive_verify("--trusted-checkpoint", str(kept))

    trusted = json.loads(kept.read_bytes())["statement"]
    extension = report["trusted"]
    assert (code, report["problems"]) == (0, [])
    assert (extension["tree_size"], extension["extended_by"]) == (15, 30)
    assert extension["root_hash"] == Checkpoint.objects.get(tree_size=30).root_hash
    assert merkle.verify_consistency(
        15,
        30,
        bytes.fromhex(trusted["root_hash"]),
        bytes.fromhex(extension["root_hash"]),
        [bytes.fromhex(node) for node in extension["consistency_proof"]],
    )


def test_a_rewritten_history_does_not_extend_a_trusted_checkpoint(sealed, tmp_path):
    kept = tmp_path / "kept-by-the-regulator.json"
    shutil.copy(_witness_file(sealed, 15), kept)
    _rewrite_everywhere(EARLY, "message 4, rewritten everywhere")

    code, report = archive_verify("--trusted-checkpoint", str(kept))

    trusted = [p for p in report["problems"] if p["kind"] == "trusted"]
    assert code == 1
    assert [(p["seq"], p["checkpoint"]) for p in trusted] == [(15, 15), (15, 15)]
    assert trusted[0]["detail"] == (
        "records 1..15 do not hash to the trusted checkpoint's root: the archive still matches "
        "its signed checkpoint none, so a record in 1..15 differs from what was trusted"
    )
    assert trusted[1]["detail"] == "record 15 is not the one the trusted checkpoint signed"


def test_a_trusted_checkpoint_with_a_forged_root_fails_its_signature(sealed, tmp_path):
    document = json.loads(_witness_file(sealed, 15).read_bytes())
    document["statement"]["root_hash"] = "ef" * 32
    kept = tmp_path / "forged.json"
    kept.write_text(json.dumps(document))

    code, report = archive_verify("--trusted-checkpoint", str(kept))

    assert code == 1
    assert problems(report) == [at("signature", checkpoint=15), at("trusted", 15, checkpoint=15)]


def test_a_trusted_checkpoint_file_that_is_not_one_is_refused(sealed, tmp_path):
    from django.core.management import CommandError, call_command

    kept = tmp_path / "not-a-checkpoint.json"
    kept.write_text('{"hello": "world"}')
    runs_before = VerificationRun.objects.count()

    with pytest.raises(CommandError, match="not a checkpoint file"):
        call_command("archive_verify", "--trusted-checkpoint", str(kept))

    assert VerificationRun.objects.count() == runs_before
    assert Checkpoint.objects.count() == 2
    assert ArchiveRecord.objects.count() == 30
