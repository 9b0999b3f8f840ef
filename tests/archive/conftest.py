"""Archive fixtures: a signing key, a blob store and a witness directory of the test's own."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from ledger import signing
from tests.archive.helpers import new_private_key_pem, public_key_of, witness_settings
from tests.archive.sealed import SealedArchive, seal


@pytest.fixture
def archive_key() -> Iterator[str]:
    """A fresh Ed25519 signing key for this test; yields its private PEM."""
    pem = new_private_key_pem()
    signing.signing_key.cache_clear()
    with override_settings(
        EIM_ARCHIVE_SIGNING_KEY=pem,
        EIM_ARCHIVE_SIGNING_KEY_FILE="",
        EIM_ARCHIVE_PUBLIC_KEY=public_key_of(pem),
    ):
        yield pem
    signing.signing_key.cache_clear()


@pytest.fixture
def blob_root(tmp_path: Path) -> Iterator[Path]:
    """The archive's filesystem blob store, rooted in this test's tmp directory."""
    root = tmp_path / "archive-blobs"
    store = {"BACKEND": "archive.blobs.FilesystemBlobStore", "OPTIONS": {"root": str(root)}}
    with override_settings(EIM_ARCHIVE_BLOB_STORE=store):
        yield root


@pytest.fixture(autouse=True)
def verify_state(tmp_path: Path) -> Iterator[Path]:
    """The verifying host's record of a run in steps, of this test's own."""
    path = tmp_path / "verify-state.json"
    with override_settings(EIM_ARCHIVE_VERIFY_STATE=str(path)):
        yield path


@pytest.fixture(autouse=True)
def witness_dir(tmp_path: Path) -> Iterator[Path]:
    """The checkpoints' witness, a directory of this test's own: a checkpoint row rolls back
    with the test, its witness file must go with it."""
    root = tmp_path / "witness"
    with override_settings(EIM_WITNESSES=witness_settings(root)):
        yield root


@pytest.fixture(scope="module")
def sealed(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[SealedArchive]:  # type: ignore[no-untyped-def]
    """The archive every case starts from, committed once for the whole module."""
    blob_root = tmp_path_factory.mktemp("sealed-blobs")
    witness = tmp_path_factory.mktemp("sealed-witness")
    store = {"BACKEND": "archive.blobs.FilesystemBlobStore", "OPTIONS": {"root": str(blob_root)}}
    key = new_private_key_pem()
    signing.signing_key.cache_clear()
    with (
        override_settings(
            EIM_ARCHIVE_SIGNING_KEY=key,
            EIM_ARCHIVE_PUBLIC_KEY=public_key_of(key),
            EIM_ARCHIVE_BLOB_STORE=store,
            EIM_WITNESSES=witness_settings(witness),
        ),
        django_db_blocker.unblock(),
    ):
        try:
            yield seal(blob_root, witness)
        finally:
            # Committed rows outlive the module otherwise; the test flush passes the triggers.
            call_command("flush", interactive=False, verbosity=0)
            signing.signing_key.cache_clear()


@pytest.fixture
def blob_file(sealed: SealedArchive) -> Iterator[Path]:
    """The ledger's blob file; its bytes and mode are put back after the test."""
    stored = sealed.blob_path.read_bytes()
    yield sealed.blob_path
    sealed.blob_path.unlink(missing_ok=True)
    sealed.blob_path.write_bytes(stored)
    sealed.blob_path.chmod(0o444)
