"""Inclusion and consistency proofs against the signed checkpoints."""

import json
from datetime import UTC, datetime

import pytest

from archive import proofs
from archive import selectors as archive_selectors
from archive.models import ArchiveBlockRoot, ArchiveRecord, Checkpoint
from archive.proofs import ProofError, consistency_proof, inclusion_proof
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from ledger import merkle
from tests.archive.helpers import sql, triggers_bypassed
from tests.factories import ChannelFactory, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_checkpoints(alice, archive_key) -> tuple[Checkpoint, Checkpoint]:
    channel = ChannelFactory(creator=alice)
    for i in range(5):
        send(alice, channel, f"first {i}")
    archive_pending()
    first = checkpoint_create()
    for i in range(6):
        send(alice, channel, f"second {i}")
    archive_pending()
    second = checkpoint_create()
    return first, second


def test_every_record_has_an_inclusion_proof_that_verifies_against_the_signed_root(
    two_checkpoints,
):
    _, latest = two_checkpoints

    proofs = [inclusion_proof(seq=seq) for seq in range(1, latest.tree_size + 1)]

    assert all(p.verifies() for p in proofs)
    assert {p.root_hash for p in proofs} == {latest.root_hash}


def test_a_proof_for_an_older_checkpoint_uses_that_checkpoints_root(two_checkpoints):
    first, _ = two_checkpoints

    proof = inclusion_proof(seq=2, tree_size=first.tree_size)

    assert proof.verifies()
    assert (proof.tree_size, proof.root_hash) == (first.tree_size, first.root_hash)


def test_a_forged_record_hash_fails_its_proof(two_checkpoints):
    proof = inclusion_proof(seq=3)

    forged = type(proof)(**{**proof.__dict__, "record_hash": "00" * 32})

    assert not forged.verifies()


def test_the_later_checkpoint_provably_extends_the_earlier_one(two_checkpoints):
    first, second = two_checkpoints

    proof = consistency_proof(old_size=first.tree_size, new_size=second.tree_size)

    assert proof.verifies()
    assert (proof.old_root, proof.new_root) == (first.root_hash, second.root_hash)


def test_a_record_newer_than_every_checkpoint_has_no_proof_yet(two_checkpoints, alice):
    _, latest = two_checkpoints

    with pytest.raises(ProofError):
        inclusion_proof(seq=latest.tree_size + 1)


@pytest.fixture
def blocks_of_four(monkeypatch: pytest.MonkeyPatch) -> int:
    """The export prover's blocks made 4 records long, so that a small archive has several."""
    monkeypatch.setattr(proofs, "PROVER_BLOCK", 4)
    return 4


def every_proof(prover: merkle.InclusionProver) -> list[bytes]:
    return [prover.proof_json(index) for index in range(prover.size)]


def test_the_prover_keeps_the_roots_of_complete_blocks_and_proves_the_same_with_them(
    two_checkpoints, blocks_of_four, monkeypatch
):
    _, latest = two_checkpoints
    first = proofs.checkpoint_prover(tree_size=latest.tree_size)
    read = []
    real_hashes = proofs._hashes
    monkeypatch.setattr(proofs, "_hashes", lambda a, b: read.append((a, b)) or real_hashes(a, b))

    second = proofs.checkpoint_prover(tree_size=latest.tree_size)

    complete = latest.tree_size // 4
    kept = ArchiveBlockRoot.objects.order_by("first_seq")
    assert [(b.first_seq, b.last_seq) for b in kept] == [
        (n * 4 + 1, n * 4 + 4) for n in range(complete)
    ]
    assert read == [(complete * 4 + 1, latest.tree_size)]  # only the last, partial block
    assert every_proof(second) == every_proof(first)
    assert all(
        inclusion_proof(seq=i + 1).path == tuple(json.loads(b"[%b]" % second.proof_json(i)))
        for i in range(latest.tree_size)
    )


def test_a_kept_block_root_that_lies_makes_the_prover_refuse(two_checkpoints, blocks_of_four):
    _, latest = two_checkpoints
    ArchiveBlockRoot.objects.create(first_seq=5, last_seq=8, root_hash="ab" * 32)

    with pytest.raises(ProofError, match="signed root"):
        proofs.checkpoint_prover(tree_size=latest.tree_size)

    assert not ArchiveBlockRoot.objects.exclude(first_seq=5).exists()  # nothing more kept


def test_a_block_whose_records_no_longer_hash_to_its_kept_root_is_never_proven(
    two_checkpoints, blocks_of_four
):
    _, latest = two_checkpoints
    proofs.checkpoint_prover(tree_size=latest.tree_size)  # keeps the roots
    with triggers_bypassed("archive_archiverecord"):
        sql("UPDATE archive_archiverecord SET hash = %s WHERE seq = 6", ["cd" * 32])
    prover = proofs.checkpoint_prover(tree_size=latest.tree_size)  # the kept roots still fold

    assert prover.proof_json(0)  # block 1..4 is intact
    with pytest.raises(ProofError, match=r"leaves 5\.\.8 do not hash"):
        prover.leaf(5)
    with pytest.raises(ProofError, match=r"leaves 5\.\.8 do not hash"):
        prover.proof_json(4)


def test_records_read_for_an_export_carry_the_exact_time_the_archive_holds(two_checkpoints):
    """records_at reads the time as text (a faster load than Django's): the same instant,
    to the microsecond, in UTC, as the model's field."""
    _, latest = two_checkpoints
    stored = dict(ArchiveRecord.objects.values_list("seq", "occurred_at"))
    with triggers_bypassed("archive_archiverecord"):
        for seq, text in ((2, "2026-01-02 03:04:05.5+00"), (3, "2026-01-02 03:04:05+01")):
            sql("UPDATE archive_archiverecord SET occurred_at = %s WHERE seq = %s", [text, seq])
    stored[2] = datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    stored[3] = datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)

    rows = archive_selectors.records_at(
        seqs=ArchiveRecord.objects.values("seq"), first=1, last=latest.tree_size
    )

    assert [(r.seq, r.occurred_at) for r in rows] == sorted(stored.items())
    assert {r.occurred_at.isoformat()[-6:] for r in rows} == {"+00:00"}
