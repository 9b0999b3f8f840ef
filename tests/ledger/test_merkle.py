"""The Merkle tree (RFC 6962 / RFC 9162): roots, inclusion and consistency proofs, the frontier.

Known answers come from transparency-dev/merkle (testonly/constants.go, proof/verify_test.go),
the Certificate Transparency reference vectors; the property tests compare against a direct
transcription of RFC 6962 section 2.1 and check that every alteration breaks a proof.

A proof binds a leaf to a root, and only the signed tree head binds the root to its size: the
RFC 9162 verifier accepts a size-5 path for leaf 0 under any claimed size 5..8 when it is given
the size-5 root. So "a different size" is checked against the root of a tree of that size, which
is what a verifier holding a signed (size, root) pair does.
"""

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.services.checkpoints import frontier_from_json, frontier_to_json
from ledger.merkle import (
    EMPTY_ROOT,
    InclusionProver,
    MerkleAccumulator,
    block_roots,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
H = bytes.fromhex
# (0-based index, tree size, audit path) from proof/verify_test.go.
CT_INCLUSION = [
    (
        0,
        8,
        [
            H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
# (old size, new size, proof) from proof/verify_test.go.
CT_CONSISTENCY = [
    (
        1,
        8,
        [
            H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

PROPERTIES = settings(max_examples=60, deadline=None, database=None)
leaf = st.binary(max_size=24)


def leaf_lists(min_size: int = 0, max_size: int = 300) -> st.SearchStrategy[list[bytes]]:
    """Distinct leaves, as the archive's are (record hashes are unique)."""
    return st.lists(leaf, min_size=min_size, max_size=max_size, unique=True)


def rfc6962_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 section 2.1 defines it: the oracle for the fast code."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962_root(leaves[:k]) + rfc6962_root(leaves[k:])).digest()


def flipped(digest: bytes, bit: int = 0) -> bytes:
    """The same hash with one bit changed."""
    return bytes([digest[0] ^ (1 << bit), *digest[1:]])


@st.composite
def tree_and_leaf(draw: st.DrawFn, min_size: int = 1, max_size: int = 300) -> tuple:
    leaves = draw(leaf_lists(min_size=min_size, max_size=max_size))
    return leaves, draw(st.integers(0, len(leaves) - 1))


@st.composite
def tree_and_two_indexes(draw: st.DrawFn) -> tuple:
    leaves, index = draw(tree_and_leaf(min_size=2))
    other = (index + draw(st.integers(1, len(leaves) - 1))) % len(leaves)
    return leaves, index, other


@st.composite
def leaf_in_two_sizes(draw: st.DrawFn) -> tuple:
    """A leaf list, a leaf index, and two different tree sizes that both contain that leaf."""
    leaves = draw(leaf_lists(min_size=2, max_size=200))
    index = draw(st.integers(0, len(leaves) - 2))
    sizes = len(leaves) - index  # the sizes index+1 .. len(leaves)
    first = draw(st.integers(0, sizes - 1))
    second = (first + draw(st.integers(1, sizes - 1))) % sizes
    return leaves, index, index + 1 + first, index + 1 + second


@st.composite
def grown_tree(draw: st.DrawFn, strictly: bool = False) -> tuple:
    """Leaves and an old size 1 <= m <= n (m < n when `strictly`)."""
    leaves = draw(leaf_lists(min_size=1 + strictly, max_size=300))
    old = draw(st.integers(1, len(leaves) - strictly))
    return leaves, old


# --- Known answers ---------------------------------------------------------------------------


def test_the_empty_tree_root_is_sha256_of_nothing():
    assert EMPTY_ROOT == hashlib.sha256(b"").digest() == CT_ROOTS[0]
    assert MerkleAccumulator().root() == EMPTY_ROOT
    assert root([]) == EMPTY_ROOT


def test_a_one_leaf_tree_root_is_the_prefixed_leaf_hash():
    assert root([b"record"]) == hashlib.sha256(b"\x00record").digest()
    assert leaf_hash(b"") == CT_ROOTS[1]


def test_an_interior_node_hashes_with_the_0x01_prefix():
    left, right = leaf_hash(CT_LEAVES[0]), leaf_hash(CT_LEAVES[1])

    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest() == CT_ROOTS[2]


def test_roots_match_the_certificate_transparency_vectors_for_every_size():
    assert [root(CT_LEAVES[:n]) for n in range(9)] == CT_ROOTS


def test_inclusion_proofs_match_the_certificate_transparency_vectors():
    produced = [inclusion_proof(CT_LEAVES[:size], index) for index, size, _ in CT_INCLUSION]
    verified = [
        verify_inclusion(CT_LEAVES[index], index, size, path, CT_ROOTS[size])
        for index, size, path in CT_INCLUSION
    ]

    assert produced == [path for _, _, path in CT_INCLUSION]
    assert verified == [True] * len(CT_INCLUSION)


def test_consistency_proofs_match_the_certificate_transparency_vectors():
    produced = [consistency_proof(CT_LEAVES[:new], old) for old, new, _ in CT_CONSISTENCY]
    verified = [
        verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], path)
        for old, new, path in CT_CONSISTENCY
    ]

    assert produced == [path for _, _, path in CT_CONSISTENCY]
    assert verified == [True] * len(CT_CONSISTENCY)


def test_the_reference_suites_corrupted_inclusion_probes_all_fail():
    index, size, path = CT_INCLUSION[1]
    good_root, good_leaf = CT_ROOTS[size], CT_LEAVES[index]
    probes = [
        (good_leaf, index - 1, size, path, good_root),
        (good_leaf, index + 1, size, path, good_root),
        (good_leaf, index ^ 2, size, path, good_root),
        (good_leaf, index, size * 2, path, good_root),
        (good_leaf, index, size // 2, path, good_root),
        (b"WrongLeaf", index, size, path, good_root),
        (good_leaf, index, size, path, EMPTY_ROOT),
        (good_leaf, index, size, [*path, good_root], good_root),
        (good_leaf, index, size, [good_root, *path], good_root),
        (good_leaf, index, size, path[:-1], good_root),
    ]

    assert [verify_inclusion(*probe) for probe in probes] == [False] * len(probes)


def test_the_reference_suites_corrupted_consistency_probes_all_fail():
    old, new, path = CT_CONSISTENCY[1]
    old_root, new_root = CT_ROOTS[old], CT_ROOTS[new]
    probes = [
        (old - 1, new, old_root, new_root, path),
        (old + 1, new, old_root, new_root, path),
        (old ^ 2, new, old_root, new_root, path),
        (old, new * 2, old_root, new_root, path),
        (old, new // 2, old_root, new_root, path),
        (old, new, b"WrongRoot", new_root, path),
        (old, new, old_root, b"WrongRoot", path),
        (old, new, new_root, old_root, path),
        (old, new, old_root, new_root, []),
        (old, new, old_root, new_root, [*path, old_root]),
        (old, new, old_root, new_root, [new_root, *path]),
        (old, new, old_root, new_root, [path[0], *path]),
        (old, new, old_root, new_root, path[:-1]),
    ]

    assert [verify_consistency(*probe) for probe in probes] == [False] * len(probes)


# --- Roots and the resumable accumulator -----------------------------------------------------


@PROPERTIES
@given(leaf_lists(max_size=300))
def test_the_root_is_rfc_6962s_merkle_tree_hash(leaves):
    assert root(leaves) == rfc6962_root(leaves)


@PROPERTIES
@given(grown_tree())
def test_an_accumulator_resumed_from_a_saved_frontier_reaches_the_same_root(grown):
    leaves, cut = grown
    first = MerkleAccumulator()
    first.extend(leaves[:cut])
    saved = json.loads(json.dumps(frontier_to_json(first)))

    resumed = frontier_from_json(saved)
    resumed.extend(leaves[cut:])

    assert first.root() == rfc6962_root(leaves[:cut])
    assert resumed.size == len(leaves)
    assert resumed.root() == root(leaves) == rfc6962_root(leaves)


@PROPERTIES
@given(leaf_lists(min_size=1, max_size=300))
def test_the_frontier_holds_one_perfect_subtree_per_set_bit_of_the_size(leaves):
    accumulator = MerkleAccumulator()
    accumulator.extend(leaves)

    sizes = [size for size, _ in accumulator.frontier]

    assert sum(sizes) == len(leaves)
    assert sizes == sorted(sizes, reverse=True)
    assert len(sizes) == bin(len(leaves)).count("1")


# --- Inclusion proofs ------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, database=None)
@given(leaf_lists(min_size=1, max_size=40))
def test_every_leaf_of_a_tree_has_an_inclusion_proof_that_verifies(leaves):
    tree_root = root(leaves)

    verified = [
        verify_inclusion(value, i, len(leaves), inclusion_proof(leaves, i), tree_root)
        for i, value in enumerate(leaves)
    ]

    assert verified == [True] * len(leaves)


@PROPERTIES
@given(tree_and_leaf())
def test_a_random_leaf_of_a_tree_up_to_300_has_an_inclusion_proof_that_verifies(tree):
    leaves, index = tree

    proof = inclusion_proof(leaves, index)

    assert verify_inclusion(leaves[index], index, len(leaves), proof, root(leaves))


@PROPERTIES
@given(tree_and_leaf())
def test_an_altered_leaf_fails_its_inclusion_proof(tree):
    leaves, index = tree
    proof = inclusion_proof(leaves, index)

    assert not verify_inclusion(leaves[index] + b"!", index, len(leaves), proof, root(leaves))


@PROPERTIES
@given(tree_and_leaf(min_size=2), st.data())
def test_any_altered_proof_element_fails_the_inclusion_proof(tree, data):
    leaves, index = tree
    proof = inclusion_proof(leaves, index)
    at = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 7))

    proof[at] = flipped(proof[at], bit)

    assert not verify_inclusion(leaves[index], index, len(leaves), proof, root(leaves))


@PROPERTIES
@given(tree_and_leaf(min_size=2))
def test_a_proof_with_an_element_added_or_dropped_fails(tree):
    leaves, index = tree
    proof = inclusion_proof(leaves, index)
    tree_root = root(leaves)

    assert not verify_inclusion(leaves[index], index, len(leaves), proof[:-1], tree_root)
    assert not verify_inclusion(leaves[index], index, len(leaves), [*proof, tree_root], tree_root)


@PROPERTIES
@given(tree_and_two_indexes())
def test_an_inclusion_proof_does_not_verify_at_another_index(tree):
    leaves, index, other = tree
    proof = inclusion_proof(leaves, index)

    assert not verify_inclusion(leaves[index], other, len(leaves), proof, root(leaves))


@PROPERTIES
@given(tree_and_leaf())
def test_an_inclusion_proof_does_not_verify_at_an_index_outside_the_tree(tree):
    leaves, index = tree
    proof = inclusion_proof(leaves, index)
    tree_root = root(leaves)

    assert not verify_inclusion(leaves[index], len(leaves), len(leaves), proof, tree_root)
    assert not verify_inclusion(leaves[index], -1, len(leaves), proof, tree_root)


@PROPERTIES
@given(leaf_in_two_sizes())
def test_an_inclusion_proof_does_not_verify_in_a_tree_of_another_size(case):
    leaves, index, size, other_size = case
    proof = inclusion_proof(leaves[:size], index)

    claimed = verify_inclusion(leaves[index], index, other_size, proof, root(leaves[:other_size]))

    assert not claimed


@PROPERTIES
@given(tree_and_leaf(), st.integers(0, 255))
def test_an_altered_root_fails_the_inclusion_proof(tree, bit):
    leaves, index = tree
    proof = inclusion_proof(leaves, index)

    altered = flipped(root(leaves), bit % 8)

    assert not verify_inclusion(leaves[index], index, len(leaves), proof, altered)


# --- Consistency proofs ----------------------------------------------------------------------


@PROPERTIES
@given(grown_tree())
def test_a_consistency_proof_between_any_two_sizes_verifies(grown):
    leaves, old = grown

    proof = consistency_proof(leaves, old)

    assert verify_consistency(old, len(leaves), root(leaves[:old]), root(leaves), proof)


@PROPERTIES
@given(grown_tree(strictly=True), st.data())
def test_any_altered_consistency_proof_element_fails(grown, data):
    leaves, old = grown
    proof = consistency_proof(leaves, old)
    at = data.draw(st.integers(0, len(proof) - 1))

    proof[at] = flipped(proof[at], data.draw(st.integers(0, 7)))

    assert not verify_consistency(old, len(leaves), root(leaves[:old]), root(leaves), proof)


@PROPERTIES
@given(grown_tree(strictly=True))
def test_a_consistency_proof_fails_against_an_altered_old_or_new_root(grown):
    leaves, old = grown
    proof = consistency_proof(leaves, old)
    old_root, new_root = root(leaves[:old]), root(leaves)

    assert not verify_consistency(old, len(leaves), flipped(old_root), new_root, proof)
    assert not verify_consistency(old, len(leaves), old_root, flipped(new_root), proof)
    assert not verify_consistency(old, len(leaves), new_root, old_root, proof)


@PROPERTIES
@given(grown_tree(strictly=True))
def test_a_consistency_proof_fails_with_an_element_dropped_or_added(grown):
    leaves, old = grown
    proof = consistency_proof(leaves, old)
    old_root, new_root = root(leaves[:old]), root(leaves)

    assert not verify_consistency(old, len(leaves), old_root, new_root, proof[:-1])
    assert not verify_consistency(old, len(leaves), old_root, new_root, [*proof, new_root])


@PROPERTIES
@given(grown_tree(strictly=True), st.data())
def test_a_consistency_proof_does_not_verify_for_another_old_size(grown, data):
    leaves, old = grown
    proof = consistency_proof(leaves, old)
    other = 1 + (old - 1 + data.draw(st.integers(1, len(leaves) - 1))) % len(leaves)

    claimed = verify_consistency(other, len(leaves), root(leaves[:other]), root(leaves), proof)

    assert not claimed


@PROPERTIES
@given(leaf_lists(min_size=3, max_size=300), st.data())
def test_a_consistency_proof_does_not_verify_for_another_new_size(leaves, data):
    old = data.draw(st.integers(1, len(leaves) - 2))
    new = data.draw(st.integers(old + 1, len(leaves)))
    other = (
        old
        + 1
        + (new - old - 1 + data.draw(st.integers(1, len(leaves) - old - 1))) % (len(leaves) - old)
    )
    proof = consistency_proof(leaves[:new], old)

    claimed = verify_consistency(old, other, root(leaves[:old]), root(leaves[:other]), proof)

    assert not claimed


def test_consistency_sizes_outside_the_tree_are_refused():
    leaves = CT_LEAVES
    full = root(leaves)

    assert not verify_consistency(0, 8, EMPTY_ROOT, full, [])
    assert not verify_consistency(9, 8, full, full, [])
    assert verify_consistency(8, 8, full, full, [])
    assert not verify_consistency(8, 8, full, full, [full])


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=1, max_value=300), block=st.sampled_from([1, 2, 8, 64]))
def test_the_block_prover_gives_every_leaf_the_same_path_as_the_whole_tree(size, block):
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(size)]
    reads: list[tuple[int, int]] = []

    def read_block(first: int, last: int) -> list[bytes]:
        reads.append((first, last))
        return leaves[first : last + 1]

    prover = InclusionProver(
        size=size, block_roots=block_roots(leaves, block=block), read_block=read_block, block=block
    )

    assert prover.root() == root(leaves)
    assert [prover.proof(i) for i in range(size)] == [
        inclusion_proof(leaves, i) for i in range(size)
    ]
    assert [prover.proof_hex(i) for i in range(size)] == [
        [p.hex() for p in inclusion_proof(leaves, i)] for i in range(size)
    ]
    assert [prover.proof_json(i) for i in range(size)] == [
        ",".join(f'"{p.hex()}"' for p in inclusion_proof(leaves, i)).encode() for i in range(size)
    ]
    assert [prover.consistency(m) for m in range(1, size + 1)] == [
        consistency_proof(leaves, m) for m in range(1, size + 1)
    ]
    assert all(last - first < block for first, last in reads)
    for number in range(-(-size // block)):
        written = prover.block_json(number)
        if written is None:  # the last, partial block, or blocks of one leaf
            assert block == 1 or (number + 1) * block > size
            continue
        block_leaves, siblings, above = written
        first = number * block
        assert list(block_leaves) == leaves[first : first + block]
        assert [b'"%b"%b' % (siblings[o ^ 1], above[o >> 1]) for o in range(block)] == [
            ",".join(f'"{p.hex()}"' for p in inclusion_proof(leaves, first + o)).encode()
            for o in range(block)
        ]
