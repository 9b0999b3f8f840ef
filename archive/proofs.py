"""Proofs against signed checkpoints: that a record is in the archive, and that the archive
only grew between two checkpoints. The export issue ships these with every export.
"""

from dataclasses import dataclass

from ledger import merkle

from .models import ArchiveRecord, Checkpoint


class ProofError(ValueError):
    """The proof asked for does not exist (unknown record or checkpoint)."""


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    record_hash: str
    tree_size: int
    root_hash: str
    path: tuple[str, ...]

    def verifies(self) -> bool:
        return merkle.verify_inclusion(
            bytes.fromhex(self.record_hash),
            self.seq - 1,
            self.tree_size,
            [bytes.fromhex(h) for h in self.path],
            bytes.fromhex(self.root_hash),
        )


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    old_root: str
    new_size: int
    new_root: str
    path: tuple[str, ...]

    def verifies(self) -> bool:
        return merkle.verify_consistency(
            self.old_size,
            self.new_size,
            bytes.fromhex(self.old_root),
            bytes.fromhex(self.new_root),
            [bytes.fromhex(h) for h in self.path],
        )


def _leaves(tree_size: int) -> list[bytes]:
    hashes = (
        ArchiveRecord.objects.filter(seq__lte=tree_size)
        .order_by("seq")
        .values_list("hash", flat=True)
        .iterator(chunk_size=10000)
    )
    leaves = [bytes.fromhex(h) for h in hashes]
    if len(leaves) != tree_size:
        raise ProofError(f"the archive holds {len(leaves)} of the {tree_size} records signed")
    return leaves


def _checkpoint(tree_size: int | None, *, at_least: int = 1) -> Checkpoint:
    checkpoints = Checkpoint.objects.filter(tree_size__gte=at_least)
    if tree_size is not None:
        checkpoints = checkpoints.filter(tree_size=tree_size)
    checkpoint = checkpoints.order_by("-tree_size").first()
    if checkpoint is None:
        raise ProofError("no signed checkpoint covers that record yet")
    return checkpoint


def inclusion_proof(*, seq: int, tree_size: int | None = None) -> InclusionProof:
    """The audit path of record `seq` in a signed checkpoint (the latest by default)."""
    checkpoint = _checkpoint(tree_size, at_least=seq)
    leaves = _leaves(checkpoint.tree_size)
    path = merkle.inclusion_proof(leaves, seq - 1)
    return InclusionProof(
        seq=seq,
        record_hash=leaves[seq - 1].hex(),
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        path=tuple(p.hex() for p in path),
    )


def consistency_proof(*, old_size: int, new_size: int) -> ConsistencyProof:
    """That the checkpoint over `new_size` records extends the one over `old_size`."""
    old = _checkpoint(old_size)
    new = _checkpoint(new_size)
    path = merkle.consistency_proof(_leaves(new.tree_size), old.tree_size)
    return ConsistencyProof(
        old_size=old.tree_size,
        old_root=old.root_hash,
        new_size=new.tree_size,
        new_root=new.root_hash,
        path=tuple(p.hex() for p in path),
    )
