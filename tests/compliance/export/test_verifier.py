"""The offline verifier (tools/verify_export.py) on a good export and on each tampering: it
passes the first and names what is wrong in each of the others."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from compliance.export import services
from tests.archive.helpers import new_private_key_pem, public_key_of
from tests.factories import send

from .conftest import World, public_key_file, run_to_end, unpacked

pytestmark = pytest.mark.django_db


def verify(folder: Path, key: Path, *more: str) -> tuple[int, str]:
    """Run the copy shipped in the export, as a recipient would, with a bare Python."""
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            str(folder / "verify_export.py"),
            str(folder),
            "--public-key",
            str(key),
            *more,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def exported(world: World, officer, tmp_path: Path) -> tuple[Path, Path]:
    job = services.export_create(
        user=officer, query="", conversation_ids=[world.channel.pk], formats=["jsonl", "csv", "eml"]
    )
    job = run_to_end(job)
    assert job.state == "done", job.error
    return unpacked(job, tmp_path / "received"), public_key_file(tmp_path)


def test_a_good_export_verifies(exported):
    folder, key = exported

    code, out = verify(folder, key)

    assert code == 0, out
    assert "VERIFIED" in out
    assert "inclusion proofs verify" in out
    assert "records re-hash to proven hashes" in out


def test_the_shipped_verifier_is_the_repositorys(exported):
    folder, _ = exported

    shipped = (folder / "verify_export.py").read_bytes()

    assert shipped == (Path(__file__).parents[3] / "tools" / "verify_export.py").read_bytes()


@pytest.mark.parametrize(
    "name", ["records.jsonl", "messages.csv", "proofs.jsonl", "checkpoint.json"]
)
def test_a_changed_byte_in_a_file_is_named(exported, name):
    folder, key = exported
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    code, out = verify(folder, key)

    assert code == 1
    assert f"files: {name} has SHA-256" in out


def test_a_changed_byte_in_an_eml_file_is_named(exported):
    folder, key = exported
    eml = sorted((folder / "eml").rglob("*.eml"))[0]
    eml.write_bytes(eml.read_bytes().replace(b"Subject:", b"Subjekt:", 1))

    code, out = verify(folder, key)

    assert code == 1
    assert f"files: {eml.relative_to(folder).as_posix()} has SHA-256" in out


def test_a_removed_file_is_named(exported):
    folder, key = exported
    (folder / "messages.csv").unlink()

    code, out = verify(folder, key)

    assert code == 1
    assert "files: messages.csv is missing (removed)" in out


def test_an_added_file_is_named(exported):
    folder, key = exported
    (folder / "eml" / "extra.eml").write_text("From: nobody\r\n\r\nplanted\r\n")

    code, out = verify(folder, key)

    assert code == 1
    assert "files: eml/extra.eml is not in the manifest (added)" in out


def test_a_changed_manifest_is_named(exported):
    folder, key = exported
    manifest = json.loads((folder / "manifest.json").read_bytes())
    manifest["counts"]["records"] -= 1
    (folder / "manifest.json").write_text(json.dumps(manifest))

    code, out = verify(folder, key)

    assert code == 1
    assert "manifest.json is not the manifest that was signed" in out


def test_a_rehashed_record_with_its_manifest_rewritten_still_fails_its_proof(exported):
    """Whoever changes a record, fixes its hash and rewrites the file list cannot re-sign."""
    folder, key = exported
    path = folder / "records.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    row = json.loads(lines[3])
    row["record"]["payload"]["forged"] = True
    lines[3] = json.dumps(row) + "\n"
    path.write_text("".join(lines))

    code, out = verify(folder, key)

    assert code == 1
    assert "records: line 4 does not re-hash to its hash (changed)" in out


def test_a_wrong_key_is_named(exported, tmp_path):
    folder, _ = exported
    other = tmp_path / "other.pem"
    other.write_text(public_key_of(new_private_key_pem()))

    code, out = verify(folder, other)

    assert code == 1
    assert "is not signed by the given key" in out


def test_a_proof_from_another_checkpoint_is_named(exported, world):
    """A proof computed against a later checkpoint does not verify against the export's."""
    folder, key = exported
    from archive.proofs import inclusion_proof

    send(world.alice, world.channel, "later")
    archive_pending()
    later = checkpoint_create()
    path = folder / "proofs.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    first = json.loads(lines[0])
    other = inclusion_proof(seq=first["seq"], tree_size=later.tree_size)
    lines[0] = json.dumps({**first, "path": list(other.path)}) + "\n"
    path.write_text("".join(lines))

    code, out = verify(folder, key)

    assert code == 1
    assert "proofs: line 1 does not prove its record in checkpoint" in out


def test_a_checkpoint_kept_before_is_extended_by_the_exports(world, officer, tmp_path):
    kept = tmp_path / "kept.json"
    from archive.proofs import checkpoint_file, newest_checkpoint_size

    kept.write_bytes(checkpoint_file(tree_size=newest_checkpoint_size() or 0))
    send(world.alice, world.channel, "after the kept checkpoint")
    archive_pending()
    checkpoint_create()
    job = run_to_end(services.export_create(user=officer, conversation_ids=[world.channel.pk]))
    folder, key = unpacked(job, tmp_path / "received"), public_key_file(tmp_path)

    code, out = verify(folder, key, "--trusted-checkpoint", str(kept))

    assert code == 0, out
    assert "extends your checkpoint" in out


def test_a_kept_checkpoint_the_export_does_not_extend_is_named(exported, tmp_path):
    """A kept checkpoint over other records (a rewritten archive) signed by the same key."""
    folder, key = exported
    from ledger import signing
    from ledger.checkpoints import SignedCheckpoint

    statement = json.loads((folder / "checkpoint.json").read_bytes())["statement"]
    forged = SignedCheckpoint(
        ledger="archive",
        tree_size=statement["tree_size"] - 1,
        root_hash="ab" * 32,
        head_hash="cd" * 32,
        signed_at=statement["signed_at"],
        key_id=statement["key_id"],
        signature="",
        prev_tree_size=0,
        prev_statement_hash="0" * 64,
    )
    signed = SignedCheckpoint(**{**forged.__dict__, "signature": signing.sign(forged.statement())})
    kept = tmp_path / "kept.json"
    kept.write_bytes(signed.to_file())

    code, out = verify(folder, key, "--trusted-checkpoint", str(kept))

    assert code == 1
    assert "trusted checkpoint:" in out
