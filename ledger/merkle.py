"""A Merkle tree in the style of RFC 6962 (Certificate Transparency), over record hashes.

Leaf hash: SHA-256(0x00 || leaf); node hash: SHA-256(0x01 || left || right). A tree of n
leaves splits at the largest power of two below n. Proofs and their verification follow
RFC 6962 section 2.1 and RFC 9162 section 2.1.3-2.1.4.
"""

import hashlib
from binascii import hexlify
from collections.abc import Callable, Iterable, Sequence
from typing import Any


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleAccumulator:
    """Builds the root incrementally: memory is one hash per set bit of the size.

    `frontier` (perfect subtree sizes and roots, left to right) can be stored and resumed.
    """

    def __init__(self, frontier: Sequence[tuple[int, bytes]] = ()) -> None:
        self.frontier: list[tuple[int, bytes]] = list(frontier)

    @property
    def size(self) -> int:
        return sum(size for size, _ in self.frontier)

    def append(self, leaf: bytes) -> None:
        entry = (1, leaf_hash(leaf))
        while self.frontier and self.frontier[-1][0] == entry[0]:
            size, left = self.frontier.pop()
            entry = (size * 2, node_hash(left, entry[1]))
        self.frontier.append(entry)

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self.frontier:
            return EMPTY_ROOT
        acc = self.frontier[-1][1]
        for _, left in reversed(self.frontier[:-1]):
            acc = node_hash(left, acc)
        return acc


def frontier_to_json(accumulator: MerkleAccumulator) -> list[list[Any]]:
    """The frontier as a checkpoint row stores it: [[size, hex root], ...]."""
    return [[size, digest.hex()] for size, digest in accumulator.frontier]


def frontier_from_json(frontier: list[list[Any]]) -> MerkleAccumulator:
    return MerkleAccumulator([(int(size), bytes.fromhex(digest)) for size, digest in frontier])


def root(leaves: Sequence[bytes]) -> bytes:
    accumulator = MerkleAccumulator()
    accumulator.extend(leaves)
    return accumulator.root()


def _subtree_root(leaves: Sequence[bytes]) -> bytes:
    return root(leaves)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` (0-based) in the tree of all `leaves`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError("leaf index out of range")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(leaves[:k], index), _subtree_root(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), _subtree_root(leaves[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` place `leaf` at `index` in the tree with `root_hash`?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The proof that the tree of `old_size` leaves is a prefix of the tree of all `leaves`."""
    if not 0 < old_size <= len(leaves):
        raise ValueError("old size out of range")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_subtree_root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), _subtree_root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _subtree_root(leaves[:k])]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a subtree
        path = [old_root, *path]
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class InclusionProver:
    """Audit paths of many leaves of one large tree, in leaf order, in bounded memory.

    Every node of an RFC 6962 tree covers an aligned range `[k * 2^j, min((k + 1) * 2^j, n))`,
    so the tree above blocks of `block` leaves (a power of two) is computed once from the roots
    of the blocks (`block_roots`, one pass over the leaves), and the nodes inside a block from
    that block's leaves, read on demand with `read_block(first, last)` (0-based, inclusive).
    Memory is one block's leaves plus one hash per block; the result is identical to
    `inclusion_proof(leaves, index)`. The block roots may come from elsewhere (kept from an
    earlier pass): a complete block read is hashed again and raises `mismatch` unless it gives
    its root, so a proof is never built from leaves its root does not cover.
    """

    def __init__(
        self,
        *,
        size: int,
        block_roots: Sequence[bytes],
        read_block: Callable[[int, int], Sequence[bytes]],
        block: int = 4096,
        mismatch: type[Exception] = ValueError,
    ) -> None:
        if block & (block - 1) or len(block_roots) != -(-size // block):
            raise ValueError("block must be a power of two, with one root per block")
        self.size = size
        self.block = block
        self._block_roots = list(block_roots)
        self._read_block = read_block
        self._mismatch = mismatch
        self._loaded: tuple[int, Sequence[bytes]] | None = None
        self._levels: list[list[bytes]] = []
        self._upper: dict[tuple[int, int], bytes] = {}
        self._inner: dict[tuple[int, int], bytes] = {}
        self._hex_block: tuple[int, list[list[str]], list[str]] | None = None
        self._json_block: tuple[int, list[bytes], list[bytes]] | None = None

    def _leaves_of_block(self, index: int) -> Sequence[bytes]:
        if self._loaded is None or self._loaded[0] != index:
            first = index * self.block
            last = min(first + self.block, self.size) - 1
            leaves = self._read_block(first, last)
            self._levels = []
            if len(leaves) == self.block:
                self._levels = _levels(leaves)
                if self._levels[-1][0] != self._block_roots[index]:
                    raise self._mismatch(
                        f"leaves {first + 1}..{last + 1} do not hash to their block's root"
                    )
            self._loaded = (index, leaves)
            self._inner = {}
        return self._loaded[1]

    def _root(self, lo: int, hi: int) -> bytes:
        """The node over leaves [lo, hi); each node computed once per block load (inside a
        block) or once per prover (above the blocks)."""
        if hi - lo == self.block and lo % self.block == 0:
            return self._block_roots[lo // self.block]
        # The right edge's nodes are shared by every proof: kept with the upper ones.
        cache = self._inner if hi - lo < self.block and hi != self.size else self._upper
        cached = cache.get((lo, hi))
        if cached is None:
            if hi - lo == 1:
                cached = leaf_hash(self._leaves_of_block(lo // self.block)[lo % self.block])
            else:
                k = _split(hi - lo)
                cached = node_hash(self._root(lo, lo + k), self._root(lo + k, hi))
            cache[(lo, hi)] = cached
        return cached

    def root(self) -> bytes:
        return self._root(0, self.size) if self.size else EMPTY_ROOT

    @property
    def block_roots(self) -> list[bytes]:
        return list(self._block_roots)

    def leaf(self, index: int) -> bytes:
        block = self._leaves_of_block(index // self.block)
        return block[index - (index // self.block) * self.block]

    def consistency(self, old_size: int) -> list[bytes]:
        """The proof that the first `old_size` leaves' tree is a prefix of this one, as
        `consistency_proof` gives it."""
        if not 0 < old_size <= self.size:
            raise ValueError("old size out of range")

        def subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
            if m == hi - lo:
                return [] if complete else [self._root(lo, hi)]
            k = _split(hi - lo)
            if m <= k:
                return [*subproof(m, lo, lo + k, complete), self._root(lo + k, hi)]
            return [*subproof(m - k, lo + k, hi, False), self._root(lo, lo + k)]

        return subproof(old_size, 0, self.size, True)

    def proof(self, index: int) -> list[bytes]:
        """The audit path of leaf `index`, as `inclusion_proof` gives it."""
        if not 0 <= index < self.size:
            raise ValueError("leaf index out of range")
        return self._path(index, down_to=1)

    def _path_above(self, first: int) -> list[bytes]:
        """The part of a proof above the complete block starting at leaf `first`: the
        siblings of the nodes from that block up to the root, from the block roots alone
        (the block's own leaves are not hashed again for it)."""
        return self._path(first, down_to=self.block)

    def _path(self, index: int, *, down_to: int) -> list[bytes]:
        """The siblings on the way from the root down to the subtree of `down_to` leaves (or
        fewer) that holds leaf `index`, nearest first."""
        path: list[bytes] = []
        lo, hi = 0, self.size
        while hi - lo > down_to:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self._root(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._root(lo, lo + k))
                lo = lo + k
        return list(reversed(path))

    def proof_hex(self, index: int) -> list[str]:
        """`proof(index)` in hex, fast for leaves read in order: a full block is a perfect
        subtree, so its leaves share the path above it (computed once per block) and take
        their siblings inside it from the block's levels, each node hashed and hexed once."""
        number = index // self.block
        first = number * self.block
        if first + self.block > self.size:  # the last, partial block: the general way
            return [p.hex() for p in self.proof(index)]
        if self._hex_block is None or self._hex_block[0] != number:
            self._leaves_of_block(number)
            levels = [[h.hex() for h in level] for level in self._levels[:-1]]
            above = [p.hex() for p in self._path_above(first)]
            self._hex_block = (number, levels, above)
        _, levels, above = self._hex_block
        offset = index - first
        return [row[(offset >> j) ^ 1] for j, row in enumerate(levels)] + above

    def proof_json(self, index: int) -> bytes:
        """`proof_hex(index)` as the inside of a JSON array (`"h1","h2",…`, UTF-8), for leaves
        read in order: the paths of a whole block are written at once, each sharing the rest
        of its path with its sibling's (`_block_paths`, `_paths_above`)."""
        number = index // self.block
        first = number * self.block
        if first + self.block > self.size:  # the last, partial block: the general way
            return b",".join(b'"%b"' % node.encode() for node in self.proof_hex(index))
        leaves, above_leaves = self._block_paths(number)
        offset = index - first
        if not leaves:  # a block of one leaf: only the path above it
            return above_leaves[0][1:]
        return b'"%b"%b' % (leaves[offset ^ 1], above_leaves[offset >> 1])

    def _block_paths(self, number: int) -> tuple[list[bytes], list[bytes]]:
        """Complete block `number`'s leaf hashes in hex and the paths above each pair of its
        leaves (`_paths_above`), made once per block, as bytes: the lines they go into are
        written as bytes (a path is 1.3 KB at a million leaves, copied once)."""
        if self._json_block is None or self._json_block[0] != number:
            first = number * self.block
            self._leaves_of_block(number)  # and its levels
            levels = [[hexlify(node) for node in row] for row in self._levels[:-1]]
            above = [hexlify(node) for node in self._path_above(first)]
            self._json_block = (number, levels[0] if levels else [], _paths_above(levels, above))
        return self._json_block[1], self._json_block[2]

    def block_json(self, number: int) -> tuple[Sequence[bytes], list[bytes], list[bytes]] | None:
        """What `proof_json` writes for the leaves of complete block `number`, for a caller
        that writes many of them in a row: the block's leaves, the hex of each leaf's hash
        (a leaf's path starts with its sibling's), and the rest of the path of each pair of
        leaves (`,"h2",…`), so that leaf `first + o`'s path is `"siblings[o ^ 1]"` then
        `above[o >> 1]`. None for the last, partial block and for blocks of one leaf (their
        paths are written the general way)."""
        if (number + 1) * self.block > self.size or self.block == 1:
            return None
        siblings, above = self._block_paths(number)
        return self._leaves_of_block(number), siblings, above


def _paths_above(levels: list[list[bytes]], above: list[bytes]) -> list[bytes]:
    """The paths (as `,"h1","h2",…`) of the nodes one level above a perfect block's leaves,
    given its levels in hex (the leaves' first, the root's excluded) and the path above the
    block. Built from the top: a node's path is its sibling, then its parent's path, so each
    node of the block is quoted and joined once; a leaf's path is then its sibling and its
    parent's path (a leaf's path was a lookup per level and a join, for every leaf)."""
    paths = [b"".join(b',"%b"' % node for node in above)]  # the block root's
    for row in reversed(levels[1:]):
        paths = [b',"%b"%b' % (row[n ^ 1], paths[n >> 1]) for n in range(len(row))]
    return paths


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the perfect tree over `leaves` (a power of two of them), from the leaf
    hashes up to the root alone."""
    sha256 = hashlib.sha256  # leaf_hash and node_hash, inlined: 8,191 hashes per block
    level = [sha256(b"\x00" + leaf).digest() for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        level = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)
        ]
        levels.append(level)
    return levels


def block_roots(leaves: Iterable[bytes], *, block: int = 4096) -> list[bytes]:
    """The roots of consecutive blocks of `block` leaves (the last may be shorter), from one
    pass over the leaves: what `InclusionProver` starts from."""
    roots: list[bytes] = []
    accumulator, count = MerkleAccumulator(), 0
    for leaf in leaves:
        accumulator.append(leaf)
        count += 1
        if count == block:
            roots.append(accumulator.root())
            accumulator, count = MerkleAccumulator(), 0
    if count:
        roots.append(accumulator.root())
    return roots
