"""Canonical JSON: the one byte form of a record, stable across runs and machines.

Keys sorted, no whitespace, UTF-8, integers and strings only (timestamps are ISO 8601
strings). For this value space it is the same as RFC 8785 (JCS), so a verifier in any
language can reproduce the bytes.
"""

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def chain_hash(prev_hash: str, canonical: str | bytes) -> str:
    """SHA-256 over the previous record's hash (32 bytes) and this record's canonical bytes
    (the text's UTF-8, or the bytes as given)."""
    data = canonical.encode("utf-8") if isinstance(canonical, str) else canonical
    return hashlib.sha256(bytes.fromhex(prev_hash) + data).hexdigest()
