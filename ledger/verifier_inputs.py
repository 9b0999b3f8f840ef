"""What a verification command is given: the public keys to check signatures with, and a
checkpoint its user kept. Shared by `archive_verify` and `audit_verify`; every problem is a
one-line CommandError, raised before any work."""

from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from .checkpoints import CheckpointFormatError, SignedCheckpoint, checkpoint_from_file
from .signing import own_key_ring, public_keys_from_files


def verifier_public_keys(paths: Sequence[Path]) -> list[Ed25519PublicKey]:
    """The keys in these --public-key files; none given, our own must be configured."""
    try:
        public_keys = public_keys_from_files(paths)
    except ValueError as error:
        raise CommandError(f"--public-key {error}") from error
    if not public_keys:
        try:
            own_key_ring()
        except (ImproperlyConfigured, OSError, ValueError) as error:
            raise CommandError(str(error)) from error
    return public_keys


def trusted_checkpoint_read(path: Path | None, *, ledger: str) -> SignedCheckpoint | None:
    if path is None:
        return None
    try:
        return checkpoint_from_file(path.read_bytes(), ledger=ledger)
    except OSError as error:
        raise CommandError(f"--trusted-checkpoint {path}: {error}") from error
    except CheckpointFormatError as error:
        raise CommandError(
            f"--trusted-checkpoint {path} is not an {ledger} checkpoint file: {error}"
        ) from error
