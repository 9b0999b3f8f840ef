"""The export's manifest and its signature, a DSSE envelope (in-toto's Dead Simple Signing
Envelope) signed with Ed25519 by the archive's key.

`manifest.json` is canonical JSON listing every other file of the export (path, SHA-256,
size), the scope and options, who made it and when, the counts, and the checkpoint the
records are proven against. `manifest.dsse.json` is

    {"payloadType": "application/vnd.eim.export-manifest+json",
     "payload": base64(manifest.json's bytes),
     "signatures": [{"keyid": <key id>, "sig": base64(Ed25519(PAE(payloadType, payload)))}]}

where PAE is DSSE v1's pre-authentication encoding:
`"DSSEv1" SP len(type) SP type SP len(body) SP body`. The key id is the SHA-256 of the raw
public key, as checkpoints name it.
"""

import base64
import hashlib
import json
from typing import IO, Any

from ledger import signing
from ledger.canonical import canonical_json

MANIFEST = "manifest.json"
ENVELOPE = "manifest.dsse.json"
PAYLOAD_TYPE = "application/vnd.eim.export-manifest+json"
MANIFEST_TYPE = "eim-export-manifest/v1"
UNLISTED = frozenset({MANIFEST, ENVELOPE})


def pae(payload_type: str, body: bytes) -> bytes:
    return pae_head(payload_type, len(body)) + body


def pae_head(payload_type: str, size: int) -> bytes:
    """What precedes the body in PAE, for a body of `size` bytes."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d " % (len(kind), kind, size)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return canonical_json(manifest).encode()


def envelope_sign(body: bytes) -> bytes:
    """The DSSE envelope of a manifest, signed with the archive's key (the signer only)."""
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(body).decode(),
        "signatures": [{"keyid": signing.key_id(), "sig": signing.sign(pae(PAYLOAD_TYPE, body))}],
    }
    return (json.dumps(envelope, indent=2, sort_keys=True) + "\n").encode()


_B64_BLOCK = 3 << 20  # a multiple of 3: the blocks' base64 joins into the whole's


def envelope_sign_stream(
    source: IO[bytes], size: int, expected_sha256: str, target: IO[bytes]
) -> None:
    """`envelope_sign` of the `size` bytes read from `source`, written to `target`, byte for
    byte the same (tested), holding the body once: the PAE is read into one buffer (Ed25519
    signs the whole message) and the payload's base64 is written block by block. A manifest
    listing a million EML files is about 100 MB; `envelope_sign` held it six times over.
    Refuses a body whose SHA-256 is not `expected_sha256`, before signing anything."""
    head = pae_head(PAYLOAD_TYPE, size)
    message = bytearray(len(head) + size)
    message[: len(head)] = head
    body = memoryview(message)[len(head) :]
    filled = 0
    while filled < size:
        block = source.read(min(size - filled, 8 << 20))
        if not block:
            break
        body[filled : filled + len(block)] = block
        filled += len(block)
    if filled != size or source.read(1) or hashlib.sha256(body).hexdigest() != expected_sha256:
        raise ValueError("the manifest is not the one its run committed")
    signature = {"keyid": signing.key_id(), "sig": signing.sign(message)}
    target.write(b'{\n  "payload": "')
    for start in range(0, size, _B64_BLOCK):
        target.write(base64.b64encode(body[start : start + _B64_BLOCK]))
    tail = json.dumps(
        {"payloadType": PAYLOAD_TYPE, "signatures": [signature]}, indent=2, sort_keys=True
    )
    target.write(b'",\n' + tail[2:].encode() + b"\n")
