"""proofs.jsonl's lines: each listed record's hash and its audit path, the same whether its
block's paths are written together or one at a time, and a hash that is not the signed leaf
stops the export."""

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.proofs import ProofError
from compliance.export.runner import _proof_lines
from ledger.merkle import InclusionProver, block_roots, inclusion_proof


def _prover(leaves: list[bytes], block: int) -> InclusionProver:
    return InclusionProver(
        size=len(leaves),
        block_roots=block_roots(leaves, block=block),
        read_block=lambda first, last: leaves[first : last + 1],
        block=block,
        mismatch=ProofError,
    )


@settings(max_examples=80, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=90),
    block=st.sampled_from([1, 2, 4, 16]),
    data=st.data(),
)
def test_each_listed_records_line_is_its_hash_and_audit_path(size, block, data):
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(size)]
    seqs = data.draw(st.lists(st.integers(1, size), unique=True).map(sorted))
    listed = [(seq, leaves[seq - 1].hex()) for seq in seqs]

    lines = _proof_lines(_prover(leaves, block), listed).decode().splitlines()

    assert [json.loads(line) for line in lines] == [
        {"hash": h, "path": [p.hex() for p in inclusion_proof(leaves, seq - 1)], "seq": seq}
        for seq, h in listed
    ]


@pytest.mark.parametrize("seq", [2, 7, 10], ids=["complete block", "its end", "last block"])
def test_a_hash_that_is_not_the_signed_leaf_stops_the_export(seq):
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(10)]
    listed = [(s, leaves[s - 1].hex()) for s in range(1, 11)]
    listed[seq - 1] = (seq, hashlib.sha256(b"rewritten").hexdigest())

    with pytest.raises(ProofError, match=f"record {seq}'s hash is not the one signed"):
        _proof_lines(_prover(leaves, 4), listed)
