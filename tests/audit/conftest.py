"""Audit fixtures: a signing key and a witness directory of the test's own."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from ledger import signing
from tests.archive.helpers import new_private_key_pem, public_key_of, witness_settings


@pytest.fixture(autouse=True)
def audit_key() -> Iterator[str]:
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


@pytest.fixture(autouse=True)
def witness_dir(tmp_path: Path) -> Iterator[Path]:
    """The checkpoints' witness, a directory of this test's own."""
    root = tmp_path / "witness"
    with override_settings(EIM_WITNESSES=witness_settings(root)):
        yield root
