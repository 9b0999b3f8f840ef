"""Archive fixtures: a signing key of the test's own and a blob store under a tmp root."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from ledger import signing
from tests.archive.helpers import new_private_key_pem


@pytest.fixture
def archive_key() -> Iterator[str]:
    """A fresh Ed25519 signing key for this test; yields its private PEM."""
    pem = new_private_key_pem()
    signing.signing_key.cache_clear()
    with override_settings(EIM_ARCHIVE_SIGNING_KEY=pem, EIM_ARCHIVE_SIGNING_KEY_FILE=""):
        yield pem
    signing.signing_key.cache_clear()


@pytest.fixture
def blob_root(tmp_path: Path) -> Iterator[Path]:
    """The archive's filesystem blob store, rooted in this test's tmp directory."""
    root = tmp_path / "archive-blobs"
    store = {"BACKEND": "archive.blobs.FilesystemBlobStore", "OPTIONS": {"root": str(root)}}
    with override_settings(EIM_ARCHIVE_BLOB_STORE=store):
        yield root
