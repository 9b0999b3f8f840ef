"""Signed checkpoints of a ledger, as statements and as the files witnesses keep.

A checkpoint signs the Merkle tree head over a ledger's first `tree_size` entries. From v2 on,
the statement names its ledger (the archive, the audit trail) and chains to the previous
checkpoint: its tree size and the SHA-256 of its statement, so that removing a checkpoint from
the middle of the sequence breaks the chain. v1 statements (the archive's first checkpoints,
before the chain) stay verifiable as they were signed.

A checkpoint file (what a witness keeps, and what a customer or a regulator may keep as a
trusted checkpoint) is the canonical JSON `{"signature": ..., "statement": {...}}`.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .canonical import canonical_json
from .merkle import MerkleAccumulator, frontier_from_json, frontier_to_json

V1_TYPE = "eim-archive-checkpoint/v1"
V2_TYPE = "eim-checkpoint/v2"
# The previous checkpoint of the first one: no entries, no statement.
NO_STATEMENT = "0" * 64

_HEX64 = frozenset("0123456789abcdef")


class CheckpointFormatError(ValueError):
    """A checkpoint file that is not a checkpoint."""


@dataclass(frozen=True)
class SignedCheckpoint:
    ledger: str
    tree_size: int
    root_hash: str
    head_hash: str
    signed_at: str
    key_id: str
    signature: str
    version: int = 2
    prev_tree_size: int | None = None
    prev_statement_hash: str | None = None

    def statement_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "head_hash": self.head_hash,
            "signed_at": self.signed_at,
            "key_id": self.key_id,
        }
        if self.version == 1:
            return {"type": V1_TYPE, **fields}
        return {
            "type": V2_TYPE,
            "ledger": self.ledger,
            **fields,
            "prev_tree_size": self.prev_tree_size,
            "prev_statement_hash": self.prev_statement_hash,
        }

    def statement(self) -> bytes:
        """The exact bytes the signature covers."""
        return canonical_json(self.statement_fields()).encode()

    def statement_hash(self) -> str:
        return hashlib.sha256(self.statement()).hexdigest()

    def to_file(self) -> bytes:
        return canonical_json(
            {"statement": self.statement_fields(), "signature": self.signature}
        ).encode()

    def differences(self, other: "SignedCheckpoint") -> list[str]:
        """The statement fields (and the signature) in which two copies differ."""
        mine, theirs = self.statement_fields(), other.statement_fields()
        names = [
            name
            for name in sorted(mine.keys() | theirs.keys())
            if mine.get(name) != theirs.get(name)
        ]
        if self.signature != other.signature:
            names.append("signature")
        return names


def checkpoint_from_file(data: bytes, *, ledger: str) -> SignedCheckpoint:
    """Parse a checkpoint file of `ledger`; CheckpointFormatError when it is not one."""
    try:
        document = json.loads(data)
        statement = document["statement"]
        checkpoint = _from_statement(statement, document["signature"], ledger=ledger)
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointFormatError(f"not a checkpoint file: {error}") from error
    if checkpoint.statement_fields() != statement:
        raise CheckpointFormatError("not a checkpoint file: unexpected statement fields")
    return checkpoint


def _hex64(value: Any, name: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX64:
        raise ValueError(f"{name} is not a hex SHA-256")
    return value


def _from_statement(statement: dict[str, Any], signature: Any, *, ledger: str) -> SignedCheckpoint:
    kind = statement["type"]
    if kind == V1_TYPE:
        version = 1
        statement_ledger = "archive"
    elif kind == V2_TYPE:
        version = 2
        statement_ledger = statement["ledger"]
    else:
        raise ValueError(f"unknown statement type {kind!r}")
    if statement_ledger != ledger:
        raise ValueError(f"a checkpoint of the {statement_ledger!r} ledger, not {ledger!r}")
    tree_size = statement["tree_size"]
    if not isinstance(tree_size, int) or isinstance(tree_size, bool) or tree_size < 1:
        raise ValueError("tree_size is not a positive integer")
    if not isinstance(signature, str) or not isinstance(statement["signed_at"], str):
        raise ValueError("signature and signed_at must be strings")
    if version == 2:
        prev = statement["prev_tree_size"]
        if not isinstance(prev, int) or isinstance(prev, bool) or not 0 <= prev < tree_size:
            raise ValueError("prev_tree_size is not a size below tree_size")
    return SignedCheckpoint(
        ledger=ledger,
        tree_size=tree_size,
        root_hash=_hex64(statement["root_hash"], "root_hash"),
        head_hash=_hex64(statement["head_hash"], "head_hash"),
        signed_at=statement["signed_at"],
        key_id=_hex64(statement["key_id"], "key_id"),
        signature=signature,
        version=version,
        prev_tree_size=statement["prev_tree_size"] if version == 2 else None,
        prev_statement_hash=(
            _hex64(statement["prev_statement_hash"], "prev_statement_hash")
            if version == 2
            else None
        ),
    )


@dataclass(frozen=True)
class TreeHead:
    """What the next checkpoint of a ledger signs, and the frontier it keeps beside it."""

    tree_size: int
    root_hash: str
    head_hash: str
    frontier: list[list[Any]]
    prev_tree_size: int
    prev_statement_hash: str


def tree_head_next(
    *,
    last: SignedCheckpoint | None,
    last_frontier: list[list[Any]] | None,
    entry_hashes: Iterable[str],
    head_size: int,
) -> TreeHead:
    """Extend the last checkpoint's tree by `entry_hashes` (the entries after it, in order, up to
    `head_size`), checking that the kept frontier still gives the signed root and that the
    entries end where the ledger's head says: a new head is never signed on top of either."""
    accumulator = frontier_from_json(last_frontier) if last_frontier else MerkleAccumulator()
    if last is not None and (accumulator.size, accumulator.root().hex()) != (
        last.tree_size,
        last.root_hash,
    ):
        raise RuntimeError(
            f"{last.ledger} checkpoint {last.tree_size}'s frontier does not match its signed "
            "root; verify the ledger"
        )
    head_hash = last.head_hash if last is not None else ""
    for entry_hash in entry_hashes:
        accumulator.append(bytes.fromhex(entry_hash))
        head_hash = entry_hash
    if accumulator.size != head_size:
        raise RuntimeError(
            f"the ledger has {accumulator.size} entries where its head says {head_size}; "
            "verify the ledger"
        )
    return TreeHead(
        tree_size=head_size,
        root_hash=accumulator.root().hex(),
        head_hash=head_hash,
        frontier=frontier_to_json(accumulator),
        prev_tree_size=last.tree_size if last is not None else 0,
        prev_statement_hash=last.statement_hash() if last is not None else NO_STATEMENT,
    )
