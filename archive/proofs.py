"""Proofs against signed checkpoints: that a record is in the archive, and that the archive
only grew between two checkpoints. The export issue ships these with every export.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import F

from ledger import merkle

from .models import ArchiveBlockRoot, ArchiveRecord, Checkpoint
from .selectors import flat_values


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


#: Leaves read at a time by an export's prover: 4,096 hashes, a few hundred kilobytes.
PROVER_BLOCK = 4096


def _leaf_block(first: int, last: int) -> list[bytes]:
    hashes = (
        ArchiveRecord.objects.filter(seq__gte=first + 1, seq__lte=last + 1)
        .order_by("seq")
        .values_list("hash", flat=True)
    )
    # As plain rows: Django's flat rows were a twentieth of a CSV export's steps.
    leaves = [bytes.fromhex(h) for h in flat_values(hashes)]
    if len(leaves) != last - first + 1:
        raise ProofError(f"records {first + 1}..{last + 1} are no longer all in the archive")
    return leaves


def _block_roots(tree_size: int) -> tuple[list[bytes], list[ArchiveBlockRoot]]:
    """The roots of the blocks of PROVER_BLOCK records under checkpoint `tree_size`: a
    complete block's from its kept root where there is one, the others hashed from the
    records (one read per run of blocks without one). Also the complete blocks' roots that
    were not kept yet. Nothing here is trusted: the caller folds them into the signed root."""
    block, complete = PROVER_BLOCK, tree_size // PROVER_BLOCK
    kept = {
        (first - 1) // block: bytes.fromhex(root)
        for first, last, root in ArchiveBlockRoot.objects.filter(
            first_seq__lte=complete * block, last_seq=F("first_seq") + block - 1
        ).values_list("first_seq", "last_seq", "root_hash")
        if (first - 1) % block == 0
    }
    roots: list[bytes] = []
    new: list[ArchiveBlockRoot] = []
    number = 0
    while number * block < tree_size:
        if number in kept:
            roots.append(kept[number])
            number += 1
            continue
        end = number + 1
        while end < complete and end not in kept:
            end += 1
        first, last = number * block + 1, min(end * block, tree_size)
        hashed = merkle.block_roots((bytes.fromhex(h) for h in _hashes(first, last)), block=block)
        if len(hashed) != end - number:
            raise ProofError(f"records {first}..{last} are no longer all in the archive")
        roots.extend(hashed)
        new.extend(
            ArchiveBlockRoot(
                first_seq=(n * block) + 1, last_seq=(n + 1) * block, root_hash=root.hex()
            )
            for n, root in zip(range(number, min(end, complete)), hashed, strict=False)
        )
        number = end
    return roots, new


def _hashes(first: int, last: int) -> Iterator[str]:
    hashes = (
        ArchiveRecord.objects.filter(seq__gte=first, seq__lte=last)
        .order_by("seq")
        .values_list("seq", "hash")
        .iterator(chunk_size=10000)
    )
    for expected, (seq, value) in enumerate(hashes, start=first):
        if seq != expected:
            raise ProofError(f"record {expected} is no longer in the archive")
        yield value


def checkpoint_prover(*, tree_size: int) -> merkle.InclusionProver:
    """Inclusion proofs of many records against checkpoint `tree_size`, in bounded memory.

    The complete blocks' roots are kept (ArchiveBlockRoot) once an export has hashed them,
    so an export reads only the blocks it proves, not every record of the archive. Kept or
    not, every block root is folded into the signed root first, and every block the export
    reads is hashed to its root again (`InclusionProver`): a proof is never given against
    records, or a kept root, that no longer hash to what was signed."""
    checkpoint = _checkpoint(tree_size)
    roots, new = _block_roots(checkpoint.tree_size)
    prover = checkpoint_prover_from(tree_size=checkpoint.tree_size, block_roots=roots)
    if prover.root().hex() != checkpoint.root_hash:
        raise ProofError(
            f"the records, or the kept roots of their blocks, no longer hash to checkpoint "
            f"{tree_size}'s signed root; run archive_verify"
        )
    ArchiveBlockRoot.objects.bulk_create(new, ignore_conflicts=True)
    return prover


def checkpoint_prover_from(
    *, tree_size: int, block_roots: list[bytes], block: int | None = None
) -> merkle.InclusionProver:
    """A prover from block roots checked against the signed root (an export's step processes
    get them, and their block size, from the run that started them)."""
    try:
        return merkle.InclusionProver(
            size=tree_size,
            block_roots=block_roots,
            read_block=_leaf_block,
            block=block or PROVER_BLOCK,
            mismatch=ProofError,
        )
    except ValueError as error:
        raise ProofError(f"the archive no longer holds the {tree_size} records signed") from error


def newest_checkpoint_size() -> int | None:
    return Checkpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()


def checkpoint_file(*, tree_size: int) -> bytes:
    """The checkpoint as a witness keeps it: canonical `{"signature", "statement"}`."""
    from .services.checkpoints import signed_checkpoint

    return signed_checkpoint(_checkpoint(tree_size)).to_file()


def checkpoint_statement(*, tree_size: int) -> dict[str, object]:
    from .services.checkpoints import signed_checkpoint

    return signed_checkpoint(_checkpoint(tree_size)).statement_fields()


def consistency_proofs_to(
    prover: merkle.InclusionProver, *, tree_size: int
) -> list[dict[str, object]]:
    """RFC 9162 consistency proofs from every earlier checkpoint to checkpoint `tree_size`,
    so that whoever kept any of them can check that this one extends it."""
    earlier = Checkpoint.objects.filter(tree_size__lt=tree_size).order_by("tree_size")
    new_root = prover.root().hex()
    return [
        {
            "old_size": old.tree_size,
            "old_root": old.root_hash,
            "new_size": tree_size,
            "new_root": new_root,
            "path": [p.hex() for p in prover.consistency(old.tree_size)],
        }
        for old in earlier.only("tree_size", "root_hash").iterator(chunk_size=1000)
    ]
