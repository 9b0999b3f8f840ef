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
import json
from typing import Any

from ledger import signing
from ledger.canonical import canonical_json

MANIFEST = "manifest.json"
ENVELOPE = "manifest.dsse.json"
PAYLOAD_TYPE = "application/vnd.eim.export-manifest+json"
MANIFEST_TYPE = "eim-export-manifest/v1"
UNLISTED = frozenset({MANIFEST, ENVELOPE})


def pae(payload_type: str, body: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


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
