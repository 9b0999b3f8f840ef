"""Signed checkpoints: an Ed25519-signed Merkle tree head over every record so far."""

import base64
import hashlib
import io
import json

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.test import override_settings

from archive.models import ArchiveRecord, Checkpoint
from archive.services.archiving import archive_pending
from archive.services.checkpoints import (
    checkpoint_create,
    checkpoint_due,
    frontier_to_json,
    signed_checkpoint,
)
from ledger import merkle, signing
from tests.archive.helpers import archive_verify, sql, triggers_bypassed, witness_settings
from tests.factories import ChannelFactory, send

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("archive_key", "blob_root")]


def _published_public_key():  # type: ignore[no-untyped-def]
    out, err = io.StringIO(), io.StringIO()
    call_command("archive_public_key", stdout=out, stderr=err)
    return signing.load_public_key(out.getvalue()), err.getvalue()


def _record_hashes(up_to: int) -> list[bytes]:
    hashes = ArchiveRecord.objects.filter(seq__lte=up_to).order_by("seq")
    return [bytes.fromhex(h) for h in hashes.values_list("hash", flat=True)]


def _archive_messages(author, conversation, count: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        send(author, conversation, f"message {i}")
    archive_pending()


def test_a_checkpoint_is_signed_and_verifies_with_the_published_public_key(alice):
    _archive_messages(alice, ChannelFactory(creator=alice), 5)

    checkpoint = checkpoint_create()
    public_key, key_line = _published_public_key()

    statement = signed_checkpoint(checkpoint).statement()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    public_key.verify(base64.b64decode(checkpoint.signature), statement)
    assert checkpoint.key_id == hashlib.sha256(raw).hexdigest()
    assert checkpoint.key_id in key_line
    assert signing.signature_valid(public_key, statement, checkpoint.signature)
    assert not signing.signature_valid(public_key, statement + b" ", checkpoint.signature)


def test_a_checkpoint_covers_every_record_with_the_rfc_6962_root(alice):
    _archive_messages(alice, ChannelFactory(creator=alice), 5)

    checkpoint = checkpoint_create()

    last = ArchiveRecord.objects.order_by("-seq").first()
    assert checkpoint.tree_size == last.seq == 7
    assert checkpoint.head_hash == last.hash
    assert checkpoint.root_hash == merkle.root(_record_hashes(7)).hex()


def test_the_signed_statement_is_canonical_json_naming_the_ledger_the_head_and_the_previous(
    alice,
):
    channel = ChannelFactory(creator=alice)
    _archive_messages(alice, channel, 1)
    first = checkpoint_create()
    _archive_messages(alice, channel, 1)
    checkpoint = checkpoint_create()

    statement = signed_checkpoint(checkpoint).statement()

    assert json.loads(statement) == {
        "type": "eim-checkpoint/v2",
        "ledger": "archive",
        "tree_size": 4,
        "root_hash": checkpoint.root_hash,
        "head_hash": checkpoint.head_hash,
        "signed_at": checkpoint.signed_at.isoformat(),
        "key_id": checkpoint.key_id,
        "prev_tree_size": 3,
        "prev_statement_hash": hashlib.sha256(signed_checkpoint(first).statement()).hexdigest(),
    }
    assert json.loads(signed_checkpoint(first).statement())["prev_tree_size"] == 0
    assert (
        statement
        == json.dumps(json.loads(statement), sort_keys=True, separators=(",", ":")).encode()
    )


def test_no_checkpoint_is_signed_when_nothing_new_was_archived(alice):
    channel = ChannelFactory(creator=alice)
    _archive_messages(alice, channel, 2)
    first = checkpoint_create()
    send(alice, channel, "not archived yet")

    again = checkpoint_create()

    assert again is None
    assert list(Checkpoint.objects.values_list("tree_size", flat=True)) == [first.tree_size]


def test_no_checkpoint_is_signed_for_an_empty_archive():
    assert checkpoint_create() is None
    assert not Checkpoint.objects.exists()


def test_the_next_checkpoint_continues_from_the_frontier_with_a_from_scratch_root(alice):
    channel = ChannelFactory(creator=alice)
    _archive_messages(alice, channel, 4)
    first = checkpoint_create()
    _archive_messages(alice, channel, 9)

    second = checkpoint_create()

    scratch = merkle.MerkleAccumulator()
    scratch.extend(_record_hashes(second.tree_size))
    assert (first.tree_size, second.tree_size) == (6, 15)
    assert second.root_hash == merkle.root(_record_hashes(15)).hex() == scratch.root().hex()
    assert second.frontier == frontier_to_json(scratch)
    assert first.root_hash == merkle.root(_record_hashes(6)).hex()
    assert merkle.verify_consistency(
        6,
        15,
        bytes.fromhex(first.root_hash),
        bytes.fromhex(second.root_hash),
        merkle.consistency_proof(_record_hashes(15), 6),
    )


def test_a_changed_frontier_is_never_built_on(alice):
    channel = ChannelFactory(creator=alice)
    _archive_messages(alice, channel, 4)
    first = checkpoint_create()
    _archive_messages(alice, channel, 3)
    with triggers_bypassed("archive_checkpoint"):
        sql("UPDATE archive_checkpoint SET frontier = %s", ['[[4, "' + "00" * 32 + '"]]'])

    with pytest.raises(RuntimeError, match="frontier does not match its signed root"):
        checkpoint_create()

    assert list(Checkpoint.objects.values_list("tree_size", flat=True)) == [first.tree_size]


def test_a_checkpoint_is_due_after_every_n_new_records(alice):
    channel = ChannelFactory(creator=alice)
    _archive_messages(alice, channel, 2)
    due_before = checkpoint_due(every=4)
    checkpoint_create()
    _archive_messages(alice, channel, 3)

    due_after_three = checkpoint_due(every=4)
    _archive_messages(alice, channel, 1)

    assert (due_before, due_after_three, checkpoint_due(every=4)) == (True, False, True)


def test_the_checkpoint_command_archives_then_signs(alice):
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "pending")
    out = io.StringIO()

    call_command("archive_checkpoint", stdout=out)
    call_command("archive_checkpoint", stdout=out)

    checkpoint = Checkpoint.objects.get()
    assert out.getvalue().splitlines() == [
        "archived 3 pending events",
        f"checkpoint 3: root {checkpoint.root_hash}",
        "archived 0 pending events",
        "no new records since the last checkpoint",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_checkpointed_archive_verifies_in_autocommit_as_the_command_runs(alice):
    channel = ChannelFactory(creator=alice)
    _archive_messages(alice, channel, 3)
    checkpoint_create()
    _archive_messages(alice, channel, 2)
    checkpoint_create()

    code, report = archive_verify()

    assert (code, report["ok"], report["records"], report["checkpoints"]) == (0, True, 7, 2)


def test_a_witness_that_fails_loses_no_checkpoint_and_the_next_task_catches_up(
    alice, tmp_path, caplog
):
    channel = ChannelFactory(creator=alice)
    _archive_messages(alice, channel, 2)
    broken = tmp_path / "not-a-directory"
    broken.write_bytes(b"")
    with override_settings(EIM_WITNESSES=witness_settings(broken)):
        first = checkpoint_create()
    _archive_messages(alice, channel, 2)
    witness = tmp_path / "witness-back"

    with override_settings(EIM_WITNESSES=witness_settings(witness)):
        second = checkpoint_create()

    assert list(Checkpoint.objects.values_list("tree_size", flat=True).order_by("tree_size")) == [
        first.tree_size,
        second.tree_size,
    ]
    assert "did not keep a checkpoint" in caplog.text
    assert "the next checkpoint task retries" in caplog.text
    assert sorted(p.name for p in witness.iterdir()) == [
        f"archive-{first.tree_size:020d}.json",
        f"archive-{second.tree_size:020d}.json",
    ]
    assert (witness / f"archive-{first.tree_size:020d}.json").read_bytes() == (
        signed_checkpoint(first).to_file()
    )


def test_the_public_key_is_printed_where_only_the_public_key_is_configured(archive_key, tmp_path):
    on_signer, _ = _published_public_key()
    key_file = tmp_path / "archive.pem"
    key_file.write_text(signing.public_key_pem(on_signer))
    signing.signing_key.cache_clear()

    with override_settings(
        EIM_ARCHIVE_SIGNING_KEY="",
        EIM_ARCHIVE_PUBLIC_KEY="",
        EIM_ARCHIVE_PUBLIC_KEY_FILE=str(key_file),
    ):
        elsewhere, key_line = _published_public_key()

    assert signing.public_key_pem(elsewhere) == signing.public_key_pem(on_signer)
    assert signing.key_id(elsewhere) in key_line
