#!/usr/bin/env python3
"""Verify an eim evidence export offline.

    python verify_export.py EXPORT_DIR --public-key KEY.pem [--trusted-checkpoint FILE]

Needs Python 3.9+ and the `cryptography` package, nothing else: not eim, not its database.
KEY.pem is the archive's Ed25519 public key as the company published it (not the copy inside
the export). It checks, and prints, each of:

1. the manifest's signature: manifest.dsse.json is a DSSE envelope whose payload is exactly
   manifest.json, signed (Ed25519 over DSSE's pre-authentication encoding) by the given key;
2. the checkpoint: checkpoint.json is a tree head signed by the same key, the one the manifest
   names;
3. the files: every file the manifest lists is present with its SHA-256 and size, and no file
   is there that it does not list;
4. the proofs: every line of proofs.jsonl is a Merkle inclusion proof (RFC 9162 2.1.3) of a
   record hash in the checkpoint's tree;
5. the records: every line of records.jsonl re-hashes (SHA-256 of the previous hash and the
   record's canonical JSON) to its hash, and that hash is one the proofs prove;
6. the load file (when there is one): every document of loadfile.dat names a native the
   manifest lists, and no control number repeats;
7. with --trusted-checkpoint (a checkpoint file you kept earlier, e.g. from a previous export
   or the company's witness): that it is signed by the key, and that the export's checkpoint
   extends it (RFC 9162 2.1.4 consistency proof, from consistency.json when the sizes differ).

Exit status 0 when everything holds, 1 otherwise; each failure is printed with what and where.
"""

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MANIFEST = "manifest.json"
ENVELOPE = "manifest.dsse.json"
PAYLOAD_TYPE = "application/vnd.eim.export-manifest+json"
CHECKPOINT_TYPES = ("eim-checkpoint/v2", "eim-archive-checkpoint/v1")


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def ok(self, what: str) -> None:
        print(f"ok      {what}")

    def fail(self, what: str) -> None:
        self.failures.append(what)
        print(f"FAILED  {what}")


def canonical(value: object) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list, root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf)
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
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list
) -> bool:
    """RFC 9162 2.1.4.2."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:
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


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signature_valid(key: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def pae(payload_type: str, body: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def load_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def check_signature(folder: Path, key: Ed25519PublicKey, report: Report) -> dict | None:
    try:
        envelope = json.loads((folder / ENVELOPE).read_bytes())
        body = base64.b64decode(envelope["payload"], validate=True)
        signatures = envelope["signatures"]
        manifest_bytes = (folder / MANIFEST).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as error:
        report.fail(f"signature: cannot read {ENVELOPE} or {MANIFEST}: {error}")
        return None
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        report.fail(f"signature: {ENVELOPE} has payloadType {envelope.get('payloadType')!r}")
        return None
    wanted = key_id(key)
    good = [
        s
        for s in signatures
        if s.get("keyid") == wanted
        and signature_valid(key, pae(PAYLOAD_TYPE, body), s.get("sig", ""))
    ]
    if not good:
        named = ", ".join(str(s.get("keyid")) for s in signatures)
        report.fail(
            f"signature: {ENVELOPE} is not signed by the given key (key id {wanted}; "
            f"signed by {named}), or its payload was changed"
        )
        return None
    report.ok(f"signature: {ENVELOPE} signed by key {wanted}")
    if body != manifest_bytes:
        report.fail(f"signature: {MANIFEST} is not the manifest that was signed (it was changed)")
        return None
    report.ok(f"signature: {MANIFEST} is exactly the signed manifest")
    return json.loads(body)


def read_checkpoint(path: Path, key: Ed25519PublicKey) -> tuple[dict | None, str]:
    try:
        document = json.loads(path.read_bytes())
        statement, signature = document["statement"], document["signature"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"cannot read {path.name}: {error}"
    if (
        statement.get("type") not in CHECKPOINT_TYPES
        or statement.get("ledger", "archive") != "archive"
    ):
        return None, f"{path.name} is not an archive checkpoint"
    if statement.get("key_id") != key_id(key):
        return None, f"{path.name} names key {statement.get('key_id')}, not the given key"
    if not signature_valid(key, canonical(statement), signature):
        return None, f"{path.name}'s signature does not verify with the given key"
    return statement, ""


def check_checkpoint(
    folder: Path, manifest: dict, key: Ed25519PublicKey, report: Report
) -> dict | None:
    named = manifest.get("checkpoint") or {}
    statement, problem = read_checkpoint(folder / str(named.get("file", "checkpoint.json")), key)
    if statement is None:
        report.fail(f"checkpoint: {problem}")
        return None
    if any(statement.get(k) != v for k, v in named.items() if k != "file"):
        report.fail("checkpoint: checkpoint.json is not the checkpoint the manifest names")
        return None
    report.ok(
        f"checkpoint: tree size {statement['tree_size']}, root {statement['root_hash']}, "
        "signed by the given key"
    )
    return statement


def check_files(folder: Path, manifest: dict, report: Report) -> None:
    listed = {entry["path"]: entry for entry in manifest.get("files", [])}
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {
        MANIFEST,
        ENVELOPE,
    }
    for path in sorted(present - set(listed)):
        report.fail(f"files: {path} is not in the manifest (added)")
    for path in sorted(set(listed) - present):
        report.fail(f"files: {path} is missing (removed)")
    bad = 0
    for path in sorted(present & set(listed)):
        digest, size = sha256_file(folder / path)
        entry = listed[path]
        if (digest, size) != (entry["sha256"], entry["size"]):
            report.fail(
                f"files: {path} has SHA-256 {digest} and {size} bytes; the manifest says "
                f"{entry['sha256']} and {entry['size']} (changed)"
            )
            bad += 1
    report.ok(
        f"files: {len(present & set(listed)) - bad} of {len(listed)} files match the manifest"
    )


def check_proofs(folder: Path, checkpoint: dict, report: Report) -> set[str]:
    proven: set[str] = set()
    path = folder / "proofs.jsonl"
    if not path.exists():
        report.fail("proofs: proofs.jsonl is missing")
        return proven
    size, root = int(checkpoint["tree_size"]), bytes.fromhex(checkpoint["root_hash"])
    count = failed = 0
    with path.open("rb") as stream:
        for number, line in enumerate(stream, 1):
            count += 1
            try:
                proof = json.loads(line)
                ok = verify_inclusion(
                    bytes.fromhex(proof["hash"]),
                    int(proof["seq"]) - 1,
                    size,
                    [bytes.fromhex(h) for h in proof["path"]],
                    root,
                )
            except (ValueError, KeyError, TypeError):
                ok = False
            if ok:
                proven.add(proof["hash"])
            else:
                failed += 1
                if failed <= 20:
                    report.fail(
                        f"proofs: line {number} does not prove its record in checkpoint {size} "
                        "(a proof from another checkpoint, or a changed hash)"
                    )
    if failed > 20:
        report.fail(f"proofs: {failed - 20} more proofs fail")
    if not failed:
        report.ok(f"proofs: {count} inclusion proofs verify against checkpoint {size}")
    return proven


def check_records(folder: Path, proven: set[str], report: Report) -> None:
    path = folder / "records.jsonl"
    if not path.exists():
        report.ok("records: no records.jsonl in this export (not asked for)")
        return
    count = failed = 0
    with path.open("rb") as stream:
        for number, line in enumerate(stream, 1):
            count += 1
            try:
                row = json.loads(line)
                digest = hashlib.sha256(
                    bytes.fromhex(row["prev_hash"]) + canonical(row["record"])
                ).hexdigest()
                problem = (
                    "does not re-hash to its hash (changed)"
                    if digest != row["hash"]
                    else "has no inclusion proof"
                    if row["hash"] not in proven
                    else ""
                )
            except (ValueError, KeyError, TypeError) as error:
                problem = f"cannot be read: {error}"
            if problem:
                failed += 1
                if failed <= 20:
                    report.fail(f"records: line {number} {problem}")
    if failed > 20:
        report.fail(f"records: {failed - 20} more records fail")
    if not failed:
        report.ok(f"records: {count} records re-hash to proven hashes")


def check_trusted(
    folder: Path, checkpoint: dict, trusted_path: Path, key: Ed25519PublicKey, report: Report
) -> None:
    trusted, problem = read_checkpoint(trusted_path, key)
    if trusted is None:
        report.fail(f"trusted checkpoint: {problem}")
        return
    old, new = int(trusted["tree_size"]), int(checkpoint["tree_size"])
    old_root, new_root = bytes.fromhex(trusted["root_hash"]), bytes.fromhex(checkpoint["root_hash"])
    if old > new:
        report.fail(
            f"trusted checkpoint: it covers {old} records, the export's only {new}; "
            "verify against an older kept checkpoint"
        )
        return
    path: list[bytes] = []
    if old < new:
        try:
            proofs = json.loads((folder / "consistency.json").read_bytes())
            entry = next(p for p in proofs if p["old_size"] == old and p["new_size"] == new)
            path = [bytes.fromhex(h) for h in entry["path"]]
        except (OSError, ValueError, KeyError, TypeError, StopIteration):
            report.fail(f"trusted checkpoint: the export has no consistency proof from size {old}")
            return
    if verify_consistency(old, new, old_root, new_root, path):
        report.ok(
            f"trusted checkpoint: the export's checkpoint {new} extends your checkpoint {old}"
        )
    else:
        report.fail(
            f"trusted checkpoint: checkpoint {new} does not extend your checkpoint {old} "
            "(the archive was rewritten, or the proof is not for these checkpoints)"
        )


def check_load_file(folder: Path, manifest: dict, report: Report) -> None:
    """The Concordance DAT (if any): every document's NATIVEPATH names a file the manifest
    lists, and no two documents share a BEGDOC."""
    path = folder / "loadfile.dat"
    if not path.exists():
        return
    listed = {entry["path"] for entry in manifest.get("files", [])}
    lines = [line for line in path.read_bytes().decode("utf-8-sig").split("\r\n") if line]
    rows = [[v.strip("\u00fe") for v in line.split("\x14")] for line in lines]
    if not rows or "NATIVEPATH" not in rows[0] or "BEGDOC" not in rows[0]:
        report.fail("load file: loadfile.dat has no BEGDOC and NATIVEPATH fields")
        return
    native, begdoc = rows[0].index("NATIVEPATH"), rows[0].index("BEGDOC")
    missing = [r[native] for r in rows[1:] if r[native].replace("\\", "/") not in listed]
    numbers = [r[begdoc] for r in rows[1:]]
    for name in missing[:20]:
        report.fail(f"load file: native {name} is not in the manifest")
    if len(set(numbers)) != len(numbers):
        report.fail("load file: two documents share a BEGDOC control number")
    if not missing and len(set(numbers)) == len(numbers):
        report.ok(f"load file: {len(numbers)} documents, each native listed in the manifest")


def verify(folder: Path, key: Ed25519PublicKey, trusted: Path | None) -> Report:
    report = Report()
    manifest = check_signature(folder, key, report)
    if manifest is None:
        return report
    checkpoint = check_checkpoint(folder, manifest, key, report)
    check_files(folder, manifest, report)
    check_load_file(folder, manifest, report)
    if checkpoint is None:
        return report
    proven = check_proofs(folder, checkpoint, report)
    check_records(folder, proven, report)
    if trusted is not None:
        check_trusted(folder, checkpoint, trusted, key, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an eim evidence export offline.")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--public-key", type=Path, required=True)
    parser.add_argument("--trusted-checkpoint", type=Path)
    args = parser.parse_args(argv)
    try:
        key = load_key(args.public_key)
    except (OSError, ValueError) as error:
        print(f"FAILED  --public-key {args.public_key}: {error}")
        return 1
    if not args.export_dir.is_dir():
        print(f"FAILED  {args.export_dir} is not a folder (unzip the export first)")
        return 1
    report = verify(args.export_dir, key, args.trusted_checkpoint)
    if report.failures:
        print(f"\nNOT VERIFIED: {len(report.failures)} problem(s)")
        return 1
    print("\nVERIFIED: the export is complete and unaltered, and its records are in the archive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
