"""Inclusion and consistency proofs against the signed checkpoints."""

import pytest

from archive.models import Checkpoint
from archive.proofs import ProofError, consistency_proof, inclusion_proof
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
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
