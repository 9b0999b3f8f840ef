"""Signed checkpoints: a Merkle tree head over every record so far, signed with Ed25519."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger import signing
from ledger.canonical import canonical_json
from ledger.merkle import MerkleAccumulator

from ..models import ArchiveHead, ArchiveRecord, Checkpoint


def checkpoint_statement(
    *, tree_size: int, root_hash: str, head_hash: str, signed_at: str, key_id: str
) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return canonical_json(
        {
            "type": "eim-archive-checkpoint/v1",
            "tree_size": tree_size,
            "root_hash": root_hash,
            "head_hash": head_hash,
            "signed_at": signed_at,
            "key_id": key_id,
        }
    ).encode()


def frontier_to_json(accumulator: MerkleAccumulator) -> list[list[Any]]:
    return [[size, digest.hex()] for size, digest in accumulator.frontier]


def frontier_from_json(frontier: list[list[Any]]) -> MerkleAccumulator:
    return MerkleAccumulator([(int(size), bytes.fromhex(digest)) for size, digest in frontier])


def _extend(accumulator: MerkleAccumulator, first: int, last: int) -> str:
    head_hash = ""
    hashes = (
        ArchiveRecord.objects.filter(seq__gte=first, seq__lte=last)
        .order_by("seq")
        .values_list("hash", flat=True)
        .iterator(chunk_size=10000)
    )
    for record_hash in hashes:
        accumulator.append(bytes.fromhex(record_hash))
        head_hash = record_hash
    return head_hash


def checkpoint_create() -> Checkpoint | None:
    """Sign the tree head over all records so far; None if nothing new was archived."""
    head = ArchiveHead.objects.filter(pk=1).first()
    last = Checkpoint.objects.order_by("-tree_size").first()
    last_size = last.tree_size if last else 0
    if head is None or head.last_seq <= last_size:
        return None
    accumulator = frontier_from_json(last.frontier) if last else MerkleAccumulator()
    if last and (accumulator.size, accumulator.root().hex()) != (last.tree_size, last.root_hash):
        # The frontier is not signed; never sign a new head on top of one that was changed.
        raise RuntimeError(
            f"checkpoint {last.tree_size}'s frontier does not match its signed root; "
            "run archive_verify"
        )
    head_hash = _extend(accumulator, last_size + 1, head.last_seq)
    if accumulator.size != head.last_seq:
        raise RuntimeError("the archive sequence has a gap; run archive_verify")
    signed_at = timezone.now()
    key_id = signing.key_id()
    root_hash = accumulator.root().hex()
    statement = checkpoint_statement(
        tree_size=head.last_seq,
        root_hash=root_hash,
        head_hash=head_hash,
        signed_at=signed_at.isoformat(),
        key_id=key_id,
    )
    try:
        with transaction.atomic():
            checkpoint = Checkpoint(
                tree_size=head.last_seq,
                root_hash=root_hash,
                head_hash=head_hash,
                signed_at=signed_at,
                key_id=key_id,
                signature=signing.sign(statement),
                frontier=frontier_to_json(accumulator),
            )
            checkpoint.save()
    except IntegrityError:
        return None  # another worker signed the same tree size
    return checkpoint


def checkpoint_due(*, every: int) -> bool:
    head = ArchiveHead.objects.filter(pk=1).first()
    last = Checkpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()
    return head is not None and head.last_seq - (last or 0) >= every
