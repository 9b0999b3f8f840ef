"""Signed checkpoints: a Merkle tree head over every record so far, signed with Ed25519, chained
to the previous checkpoint and kept by every witness outside the database.

Order of writes: the checkpoint row commits first (the database is the source of truth, and a
statement is signed once), then each witness receives its copy. A witness that fails is logged
as an error and nothing is lost: every checkpoint task (each new checkpoint, and the beat every
5 minutes) first gives each witness the checkpoints it lacks, newest first, back to the newest
one it holds. Verification reports a checkpoint a witness still lacks after
EIM_ARCHIVE_WITNESS_GRACE.
"""

from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from ledger import signing
from ledger.checkpoints import SignedCheckpoint, tree_head_next
from ledger.merkle import frontier_from_json, frontier_to_json
from ledger.witness import Witness, configured_witnesses, witness_checkpoints

from ..models import ArchiveHead, ArchiveRecord, Checkpoint

LEDGER = "archive"

__all__ = [
    "LEDGER",
    "checkpoint_create",
    "checkpoint_due",
    "checkpoint_witness",
    "frontier_from_json",
    "frontier_to_json",
    "signed_checkpoint",
    "witnesses",
]


def signed_checkpoint(checkpoint: Checkpoint) -> SignedCheckpoint:
    """The statement and signature a checkpoint row holds."""
    return SignedCheckpoint(
        ledger=LEDGER,
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        head_hash=checkpoint.head_hash,
        signed_at=checkpoint.signed_at.isoformat(),
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
        version=checkpoint.version or 1,
        prev_tree_size=checkpoint.prev_tree_size,
        prev_statement_hash=checkpoint.prev_statement_hash,
    )


def witnesses() -> list[Witness]:
    return configured_witnesses()


def _hashes(first: int, last: int) -> Iterator[str]:
    return (
        ArchiveRecord.objects.filter(seq__gte=first, seq__lte=last)
        .order_by("seq")
        .values_list("hash", flat=True)
        .iterator(chunk_size=10000)
    )


def _sign_next() -> Checkpoint | None:
    head = ArchiveHead.objects.filter(pk=1).first()
    last = Checkpoint.objects.order_by("-tree_size").first()
    last_size = last.tree_size if last else 0
    if head is None or head.last_seq <= last_size:
        return None
    tree = tree_head_next(
        last=signed_checkpoint(last) if last else None,
        last_frontier=last.frontier if last else None,
        entry_hashes=_hashes(last_size + 1, head.last_seq),
        head_size=head.last_seq,
    )
    checkpoint = Checkpoint(
        tree_size=tree.tree_size,
        root_hash=tree.root_hash,
        head_hash=tree.head_hash,
        signed_at=timezone.now(),
        key_id=signing.key_id(),
        frontier=tree.frontier,
        version=2,
        prev_tree_size=tree.prev_tree_size,
        prev_statement_hash=tree.prev_statement_hash,
    )
    checkpoint.signature = signing.sign(signed_checkpoint(checkpoint).statement())
    checkpoint.save()
    return checkpoint


def checkpoint_create() -> Checkpoint | None:
    """Sign the tree head over all records so far (None if nothing new was archived), then
    give every witness the checkpoints it lacks."""
    with transaction.atomic():
        signing.lock_signing()
        checkpoint = _sign_next()
    checkpoint_witness()
    return checkpoint


def _newest_first() -> Iterator[tuple[int, bytes]]:
    for checkpoint in Checkpoint.objects.order_by("-tree_size").iterator(chunk_size=100):
        yield checkpoint.tree_size, signed_checkpoint(checkpoint).to_file()


def checkpoint_witness() -> list[str]:
    """Give each witness the checkpoints it lacks; returns the failures (also logged)."""
    return witness_checkpoints(LEDGER, _newest_first)


def checkpoint_due(*, every: int) -> bool:
    head = ArchiveHead.objects.filter(pk=1).first()
    last = Checkpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()
    return head is not None and head.last_seq - (last or 0) >= every
