"""archive_verify finds every kind of tampering and says where it is.

The tamper suite (from the issue): with the triggers bypassed by a superuser (ALTER TABLE ...
DISABLE TRIGGER, re-enabled ALWAYS afterwards), a changed row, a deleted row, two swapped rows,
a changed timestamp and a re-hashed tail are each detected, and the report names the sequence.

The sealed archive is built once for the module and committed: records 1..3 open the channel,
4..15 are messages, checkpoint 15 is signed; 16 carries a file (17 is its attachment.added),
18 is an edit, 19 a reaction, 20..30 are messages, and checkpoint 30 is signed. Each test
tampers inside its own transaction, so the rollback restores the rows and the triggers (even
if a case fails half-way); `blob_file` puts the blob's bytes back.
"""

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from archive.models import ArchiveRecord, Checkpoint, VerificationRun
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from archive.tasks import verify_task
from archive.verification import verify_archive
from eim.chat.models import ConversationEvent, Message
from ledger import signing
from ledger.signing import public_key_pem
from tests.archive.helpers import (
    ARCHIVE_TABLES,
    MessageRowFactory,
    archive_verify,
    at,
    new_private_key_pem,
    problems,
    public_key_of,
    rehash_from,
    rows,
    sql,
    triggers_bypassed,
)
from tests.archive.sealed import (
    EARLY,
    LATE,
    LEDGER,
    REWRITE,
    SealedArchive,
    body_changed,
    message_of,
)
from tests.factories import send

pytestmark = pytest.mark.django_db

BROKEN_PEM = "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n"


@pytest.fixture
def witness_dir(sealed: SealedArchive) -> Path:
    """The sealed archive's witness, for every case (instead of a fresh, empty one)."""
    return sealed.witness


# --- A clean archive -------------------------------------------------------------------------


def test_a_clean_archive_verifies_with_exit_0(sealed, capsys):
    call_command("archive_verify")
    code, report = archive_verify()

    out = capsys.readouterr().out
    assert "The archive is intact." in out
    assert "Checked records 1..30 (30), 2 checkpoints, 1 blobs" in out
    assert code == 0
    assert report == {
        "from_seq": 1,
        "records": 30,
        "checkpoints": 2,
        "blobs": 1,
        "pending": 0,
        "tree_size": 30,
        "window": None,
        "trusted": None,
        "problems": [],
        "ok": True,
    }


def test_the_sealed_archive_is_what_the_cases_assume(sealed):
    types = dict(ArchiveRecord.objects.values_list("seq", "event_type"))
    checkpoints = Checkpoint.objects.order_by("tree_size").values_list("tree_size", flat=True)

    assert list(checkpoints) == [15, 30]
    assert (types[EARLY], types[LATE], types[17]) == (
        "message.new",
        "message.new",
        "attachment.added",
    )


def test_each_run_is_recorded(sealed):
    archive_verify()

    run = VerificationRun.objects.get()
    assert (run.incremental, run.from_seq, run.verified_tree_size, run.problem_count) == (
        False,
        1,
        30,
        0,
    )


def test_problems_are_printed_with_where_they_are_and_exit_1(sealed, capsys):
    with triggers_bypassed():
        sql(REWRITE, [body_changed(EARLY, "altered"), EARLY])

    with pytest.raises(SystemExit) as exit_:
        call_command("archive_verify")

    out = capsys.readouterr().out
    assert exit_.value.code == 1
    assert "2 problems:" in out
    assert f"  [hash] seq {EARLY}: the record's content does not hash" in out
    assert f"  [content] seq {EARLY}: differs from outbox event" in out
    assert "The archive is intact." not in out


# --- The tamper suite ------------------------------------------------------------------------


def test_a_changed_row_is_detected_at_its_seq(sealed):
    with triggers_bypassed():
        sql(REWRITE, [body_changed(EARLY, "message 4, quietly reworded"), EARLY])

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [at("hash", EARLY), at("content", EARLY)]


def test_a_deleted_row_is_detected_at_its_seq(sealed):
    lost_message = message_of(LATE)
    with triggers_bypassed():
        sql("DELETE FROM archive_archiverecord WHERE seq = %s", [LATE])

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        at("gap", LATE),
        at("chain", LATE + 1),
        at("completeness", LATE),
        at("checkpoint", 30, checkpoint=30),
        at("completeness"),
    ]
    assert report["problems"][0]["detail"] == f"record {LATE} is missing"
    assert report["problems"][-1]["detail"] == (
        f"live message {lost_message} has no message.new record"
    )


def test_a_deleted_row_that_a_checkpoint_ends_on_is_detected_and_later_checkpoints_still_checked(
    sealed,
):
    with triggers_bypassed():
        sql("DELETE FROM archive_archiverecord WHERE seq = 15")
        sql("UPDATE archive_checkpoint SET signature = %s WHERE tree_size = 30", ["A" * 88])

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        at("gap", 15),
        at("chain", 16),
        at("completeness", 15),
        at("checkpoint", 15, checkpoint=15),
        at("witness", checkpoint=30),
        at("signature", checkpoint=30),
        at("checkpoint", 30, checkpoint=30),
        at("completeness"),
    ]
    assert report["problems"][3]["detail"] == (
        "record 15, the last one this checkpoint signed, is missing"
    )


def test_a_truncated_tail_is_detected_against_every_checkpoint_past_it(sealed):
    lost_messages = ArchiveRecord.objects.filter(seq__gt=12, event_type="message.new").count()
    with triggers_bypassed():
        sql("DELETE FROM archive_archiverecord WHERE seq > 12")

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        *(at("completeness", seq) for seq in range(13, 31)),
        at("checkpoint", checkpoint=15),
        at("checkpoint", checkpoint=30),
        *[at("completeness")] * lost_messages,
    ]
    assert lost_messages == 15
    assert report["problems"][18]["detail"] == "signed over 15 records, but the archive ends at 12"


def test_two_swapped_rows_are_detected_at_both_seqs(sealed):
    with triggers_bypassed():
        sql("UPDATE archive_archiverecord SET seq = -1 WHERE seq = %s", [EARLY])
        sql("UPDATE archive_archiverecord SET seq = %s WHERE seq = %s", [EARLY, LATE])
        sql("UPDATE archive_archiverecord SET seq = %s WHERE seq = -1", [LATE])

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        at("chain", EARLY),
        at("content", EARLY),
        at("content", EARLY),
        at("chain", EARLY + 1),
        at("checkpoint", 15, checkpoint=15),
        at("chain", LATE),
        at("content", LATE),
        at("content", LATE),
        at("chain", LATE + 1),
        at("checkpoint", 30, checkpoint=30),
    ]


@pytest.mark.parametrize("column", ["occurred_at", "archived_at"])
def test_a_changed_timestamp_is_detected_at_its_seq(sealed, column):
    with triggers_bypassed():
        sql(
            f"UPDATE archive_archiverecord SET {column} = {column} - interval '1 hour' "  # noqa: S608
            "WHERE seq = %s",
            [LATE],
        )

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [at("content", LATE)]
    assert report["problems"][0]["detail"].startswith(f"{column} ")


def test_a_rehashed_tail_is_caught_by_the_outbox_and_both_signed_checkpoints(sealed):
    rehash_from(EARLY, body_changed(EARLY, "message 4, rewritten with a consistent chain"))

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        at("content", EARLY),
        at("checkpoint", 15, checkpoint=15),
        at("checkpoint", 15, checkpoint=15),
        at("checkpoint", 30, checkpoint=30),
        at("checkpoint", 30, checkpoint=30),
    ]
    assert report["problems"][1]["detail"].startswith(
        "records 1..15 no longer match the signed Merkle root"
    )


def test_a_rehashed_tail_with_a_rewritten_outbox_is_still_caught_by_the_signed_checkpoint(
    sealed,
):
    forged = body_changed(LATE, "reply 2, rewritten everywhere")
    ConversationEvent.objects.filter(archived_seq=LATE).update(
        payload=json.loads(forged)["payload"]
    )
    rehash_from(LATE, forged)

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        at("checkpoint", 30, checkpoint=30),
        at("checkpoint", 30, checkpoint=30),
    ]
    assert report["problems"][0]["detail"].startswith(
        "records 16..30 no longer match the signed Merkle root"
    )


def test_the_triggers_are_back_to_always_after_tampering(sealed):
    with triggers_bypassed():
        sql("UPDATE archive_archiverecord SET occurred_at = now() WHERE seq = 1")

    states = dict(
        rows(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal "
            "AND tgrelid::regclass::text LIKE 'archive_%%'"
        )
    )

    assert set(states.values()) == {"A"}
    assert len(states) == 2 * len(ARCHIVE_TABLES)  # append_only and no_truncate on each


# --- Checkpoints and keys --------------------------------------------------------------------


def test_a_tampered_checkpoint_signature_is_detected(sealed):
    other = Checkpoint.objects.get(tree_size=30).signature
    with triggers_bypassed():
        sql("UPDATE archive_checkpoint SET signature = %s WHERE tree_size = 15", [other])

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [at("witness", checkpoint=15), at("signature", checkpoint=15)]
    assert report["problems"][0]["detail"] == (
        f"the database's copy differs from witness directory {sealed.witness}'s in signature"
    )
    assert report["problems"][1]["detail"] == "the signature does not verify"


def test_a_tampered_checkpoint_root_is_detected(sealed):
    with triggers_bypassed():
        sql("UPDATE archive_checkpoint SET root_hash = %s WHERE tree_size = 15", ["ab" * 32])

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [
        at("witness", checkpoint=15),
        at("signature", checkpoint=15),
        at("checkpoint", 15, checkpoint=15),
    ]


def test_verifying_with_another_public_key_reports_every_signature(sealed, tmp_path):
    key_file = tmp_path / "stranger.pem"
    key_file.write_text(public_key_pem(Ed25519PrivateKey.generate().public_key()))

    code, report = archive_verify("--public-key", str(key_file))

    assert code == 1
    assert problems(report) == [at("signature", checkpoint=15), at("signature", checkpoint=30)]
    assert {p["detail"] for p in report["problems"]} == {"signed by an unknown key"}


def test_verifying_with_the_published_public_key_succeeds(sealed, tmp_path, capsys):
    call_command("archive_public_key")
    key_file = tmp_path / "archive.pem"
    key_file.write_text(capsys.readouterr().out)

    code, report = archive_verify("--public-key", str(key_file))

    assert (code, report["ok"], report["checkpoints"]) == (0, True, 2)


@pytest.mark.parametrize("content", [None, "not a key", BROKEN_PEM], ids=["missing", "text", "pem"])
def test_a_public_key_file_that_holds_no_key_is_refused_with_a_clear_error(
    sealed, tmp_path, content
):
    key_file = tmp_path / "pub.pem"
    if content is not None:
        key_file.write_text(content)

    with pytest.raises(CommandError, match=f"--public-key {key_file}: "):
        archive_verify("--public-key", str(key_file))

    assert not VerificationRun.objects.exists()


def test_our_own_verification_needs_only_the_public_key(sealed, tmp_path):
    key_file = tmp_path / "archive-public.pem"
    key_file.write_text(public_key_pem())
    signing.signing_key.cache_clear()
    only_public = override_settings(
        EIM_ARCHIVE_SIGNING_KEY="",
        EIM_ARCHIVE_SIGNING_KEY_FILE="",
        EIM_ARCHIVE_PUBLIC_KEY="",
        EIM_ARCHIVE_PUBLIC_KEY_FILE=str(key_file),
    )
    try:
        with only_public:
            code, report = archive_verify()
            scheduled = verify_task()
            with pytest.raises(ImproperlyConfigured):
                signing.signing_key()
    finally:
        signing.signing_key.cache_clear()

    assert (code, report["ok"], report["checkpoints"], scheduled) == (0, True, 2, 0)


def test_without_a_key_archive_public_key_says_what_to_set(sealed, capsys):
    with (
        override_settings(
            EIM_ARCHIVE_SIGNING_KEY="",
            EIM_ARCHIVE_SIGNING_KEY_FILE="",
            EIM_ARCHIVE_PUBLIC_KEY="",
            EIM_ARCHIVE_PUBLIC_KEY_FILE="",
        ),
        pytest.raises(CommandError, match="set EIM_ARCHIVE_PUBLIC_KEY_FILE"),
    ):
        call_command("archive_public_key")

    assert capsys.readouterr().out == ""


def test_without_a_public_key_our_verification_says_what_to_set(sealed):
    with (
        override_settings(EIM_ARCHIVE_PUBLIC_KEY="", EIM_ARCHIVE_PUBLIC_KEY_FILE=""),
        pytest.raises(CommandError, match="set EIM_ARCHIVE_PUBLIC_KEY_FILE"),
    ):
        archive_verify()

    assert not VerificationRun.objects.exists()


@pytest.fixture
def rotated(sealed: SealedArchive) -> Iterator[str]:
    """The signing key is replaced after the sealed checkpoints; yields the retired public key."""
    retired = public_key_pem()
    signing.signing_key.cache_clear()
    new = new_private_key_pem()
    with override_settings(EIM_ARCHIVE_SIGNING_KEY=new, EIM_ARCHIVE_PUBLIC_KEY=public_key_of(new)):
        try:
            yield retired
        finally:
            signing.signing_key.cache_clear()
    signing.signing_key.cache_clear()


def test_after_a_key_rotation_the_retired_key_must_be_listed(rotated, tmp_path):
    retired_file = tmp_path / "retired.pem"
    retired_file.write_text(rotated)

    code_without, report_without = archive_verify()
    with override_settings(EIM_ARCHIVE_RETIRED_PUBLIC_KEYS_FILE=str(retired_file)):
        code_with, report_with = archive_verify()

    assert code_without == 1
    assert {p["detail"] for p in report_without["problems"]} == {"signed by an unknown key"}
    assert (code_with, report_with["ok"], report_with["checkpoints"]) == (0, True, 2)


def test_a_verifier_may_hold_several_keys_in_files_or_in_one(sealed, tmp_path):
    stranger = public_key_pem(Ed25519PrivateKey.generate().public_key())
    ours = public_key_pem()
    (tmp_path / "stranger.pem").write_text(stranger)
    (tmp_path / "ours.pem").write_text(ours)
    (tmp_path / "both.pem").write_text(stranger + ours)

    in_two_files = archive_verify(
        "--public-key", str(tmp_path / "stranger.pem"), "--public-key", str(tmp_path / "ours.pem")
    )
    in_one_file = archive_verify("--public-key", str(tmp_path / "both.pem"))

    assert in_two_files[0] == in_one_file[0] == 0
    assert in_two_files[1]["checkpoints"] == in_one_file[1]["checkpoints"] == 2


# --- Blobs -----------------------------------------------------------------------------------


def test_a_missing_blob_file_is_detected_naming_the_blob(sealed, blob_file):
    blob_file.unlink()

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [at("blob", 17, blob=sealed.blob)]
    assert report["problems"][0]["detail"].startswith("missing from the blob store")


def test_a_blob_file_with_altered_bytes_is_detected_naming_the_blob(sealed, blob_file):
    blob_file.chmod(0o644)
    blob_file.write_bytes(LEDGER.replace(b"closing", b"opening"))

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [at("blob", 17, blob=sealed.blob)]
    assert report["problems"][0]["detail"].startswith("stored bytes hash to ")


def test_a_deleted_blob_row_is_detected_naming_the_blob(sealed):
    with triggers_bypassed():
        sql("DELETE FROM archive_archiveblob")

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [at("blob", 17, blob=sealed.blob)]
    assert report["blobs"] == 0


def test_an_incremental_run_rehashes_each_older_blob_once_per_rotation(sealed, blob_file):
    blob_file.chmod(0o644)
    blob_file.write_bytes(LEDGER.replace(b"closing", b"opening"))
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    hour -= timedelta(hours=int(hour.timestamp() // 3600) % 3)  # the first slot of three

    with override_settings(EIM_ARCHIVE_BLOB_ROTATION=3):
        runs = [
            verify_archive(incremental=True, now=hour + timedelta(hours=h), record_run=False)
            for h in range(3)
        ]
    full = verify_archive(record_run=False)

    slot = int(sealed.blob[:8], 16) % 3
    assert [run.blobs for run in runs] == [1 if h == slot else 0 for h in range(3)]
    assert [[(p.kind, p.blob) for p in run.problems] for run in runs] == [
        [("blob", sealed.blob)] if h == slot else [] for h in range(3)
    ]
    assert [(p.kind, p.seq, p.blob) for p in full.problems] == [("blob", 17, sealed.blob)]


# --- Completeness against the live data ------------------------------------------------------


def test_an_outbox_event_older_than_the_grace_period_with_no_record_is_reported(sealed):
    send(sealed.alice, sealed.channel, "never archived")
    event = ConversationEvent.objects.get(archived_seq__isnull=True)
    ConversationEvent.objects.filter(pk=event.pk).update(
        occurred_at=timezone.now() - timedelta(minutes=10)
    )

    code, report = archive_verify()

    assert code == 1
    assert report["pending"] == 1
    assert problems(report) == [at("completeness")]
    assert report["problems"][0]["detail"].startswith(f"outbox event {event.event_id} from ")
    assert report["problems"][0]["detail"].endswith(" was never archived")


def test_an_event_still_within_the_grace_period_is_pending_not_a_problem(sealed):
    send(sealed.alice, sealed.channel, "on its way to the archive")

    code, report = archive_verify()

    assert (code, report["ok"], report["pending"]) == (0, True, 1)


def test_a_message_archived_while_the_verifier_walks_is_not_a_problem(sealed):
    sent: list[Message] = []

    def archiver_runs_meanwhile(_: int) -> None:
        sent.append(send(sealed.alice, sealed.channel, f"sent during the walk {len(sent)}"))
        archive_pending()

    report = verify_archive(progress=archiver_runs_meanwhile, record_run=False)

    assert len(sent) == 30
    assert ArchiveRecord.objects.filter(event_type="message.new", message_id=sent[-1].pk).exists()
    assert report.problems == []


def test_a_live_message_with_no_message_new_record_is_reported(sealed):
    sealed.channel.refresh_from_db()
    orphan = MessageRowFactory(conversation=sealed.channel, author=sealed.alice)

    code, report = archive_verify()

    assert code == 1
    assert problems(report) == [at("completeness")]
    assert report["problems"][0]["detail"] == (
        f"live message {orphan.pk} has no message.new record"
    )


# --- Incremental runs ------------------------------------------------------------------------


def test_an_incremental_run_starts_from_the_newest_witnessed_checkpoint_with_a_window(sealed):
    for i in range(4):
        send(sealed.alice, sealed.channel, f"after the checkpoint {i}")
    archive_pending()

    code, report = archive_verify("--incremental")

    assert code == 0
    # The window of older records (100,000 by default) covers the small sealed archive whole.
    assert (report["from_seq"], report["window"], report["records"]) == (31, [1, 30], 34)
    assert report["checkpoints"] == 2


def test_an_incremental_run_says_what_it_checked(sealed, capsys):
    send(sealed.alice, sealed.channel, "after the checkpoint")
    archive_pending()

    with override_settings(EIM_ARCHIVE_BLOB_ROTATION=1):
        call_command("archive_verify", "--incremental")

    assert capsys.readouterr().out.splitlines()[0] == (
        "Checked 31 records (incremental: records 31..31 after the witnessed checkpoint 30, "
        "and records 1..30 of the older history), 2 checkpoints, 1 blobs; "
        "0 events waiting to be archived."
    )


def test_an_incremental_run_detects_tampering_in_the_newer_records(sealed):
    for i in range(4):
        send(sealed.alice, sealed.channel, f"after the checkpoint {i}")
    archive_pending()
    with triggers_bypassed():
        sql(REWRITE, [body_changed(32, "after the checkpoint, altered"), 32])

    code, report = archive_verify("--incremental")

    assert code == 1
    assert report["from_seq"] == 31
    assert problems(report) == [at("hash", 32), at("content", 32)]


def test_an_incremental_run_does_not_start_from_a_checkpoint_the_witness_disagrees_with(sealed):
    with triggers_bypassed():
        sql("UPDATE archive_checkpoint SET root_hash = %s WHERE tree_size = 30", ["cd" * 32])

    code, report = archive_verify("--incremental")

    assert code == 1
    assert report["from_seq"] == 16
    assert problems(report) == [
        at("witness", checkpoint=30),
        at("signature", checkpoint=30),
        at("checkpoint", 30, checkpoint=30),
    ]


def test_an_incremental_run_with_nothing_new_checks_its_window(sealed):
    code, report = archive_verify("--incremental")

    assert code == 0
    assert (report["from_seq"], report["window"], report["tree_size"]) == (31, [1, 30], 30)


def test_an_incremental_run_after_a_failed_run_still_reports_the_problem(sealed, blob_file):
    send(sealed.alice, sealed.channel, "after the checkpoint")
    archive_pending()
    checkpoint_create()
    blob_file.unlink()
    archive_verify()

    with override_settings(EIM_ARCHIVE_BLOB_ROTATION=1):  # every blob in every run
        code, report = archive_verify("--incremental")

    assert code == 1
    assert report["from_seq"] == 32
    assert problems(report) == [at("blob", 17, blob=sealed.blob)]
