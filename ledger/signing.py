"""The Ed25519 key that signs checkpoints, and the public keys that verify them.

Production: EIM_ARCHIVE_SIGNING_KEY holds the private key as PEM (PKCS#8), or
EIM_ARCHIVE_SIGNING_KEY_FILE names a file that does; there is no default. Only the signer (the
`signing` queue's worker) needs it. Verification, ours included, loads public keys only:
EIM_ARCHIVE_PUBLIC_KEY (PEM) or EIM_ARCHIVE_PUBLIC_KEY_FILE. The embedded default (EIM_DEBUG)
generates a development key under var/ on first use and derives the public key from it.

After a key rotation the checkpoints signed before it name the retired key (key_id); list the
retired public keys in EIM_ARCHIVE_RETIRED_PUBLIC_KEYS_FILE (PEM blocks, one after another) so
that our own verification still checks them.
"""

import base64
import hashlib
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

# pg_advisory_xact_lock key: one signer at a time, whichever ledger it signs, so that each
# checkpoint chains to the one before it.
SIGNING_LOCK = 0x4549_4D43_4B50  # "EIMCKP"


def lock_signing() -> None:
    """Held until the transaction that signs ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SIGNING_LOCK])


def _load_pem(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("the archive signing key must be an Ed25519 key")
    return key


def _development_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return _load_pem(path.read_bytes())


@cache
def signing_key() -> Ed25519PrivateKey:
    if settings.EIM_ARCHIVE_SIGNING_KEY:
        return _load_pem(settings.EIM_ARCHIVE_SIGNING_KEY.encode())
    if settings.EIM_ARCHIVE_SIGNING_KEY_FILE:
        return _load_pem(Path(settings.EIM_ARCHIVE_SIGNING_KEY_FILE).read_bytes())
    if settings.DEBUG or settings.EIM_ARCHIVE_DEVELOPMENT_KEY:
        return _development_key(Path(settings.VAR_DIR) / "archive-signing-key.pem")
    raise ImproperlyConfigured(
        "set EIM_ARCHIVE_SIGNING_KEY or EIM_ARCHIVE_SIGNING_KEY_FILE (an Ed25519 PEM key)"
    )


def public_key_pem(public_key: Ed25519PublicKey | None = None) -> str:
    key = public_key or signing_key().public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(public_key: Ed25519PublicKey | None = None) -> str:
    """SHA-256 of the raw public key, hex: names the key in every checkpoint."""
    key = public_key or signing_key().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign(message: bytes | bytearray) -> str:
    return base64.b64encode(signing_key().sign(message)).decode()


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def load_public_keys(pem: str) -> list[Ed25519PublicKey]:
    """Every public key in a PEM text (a file may hold several, one after another)."""
    blocks = _PEM_BLOCK.findall(pem)
    if not blocks:
        raise ValueError("no PEM public key found")
    return [load_public_key(block) for block in blocks]


def public_keys_from_files(paths: Iterable[Path]) -> list[Ed25519PublicKey]:
    """Every public key in these PEM files (a verifier's `--public-key`); ValueError naming the
    file that cannot be read or holds no Ed25519 public key."""
    keys: list[Ed25519PublicKey] = []
    for path in paths:
        try:
            keys += load_public_keys(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise ValueError(f"{path}: {reason}") from error
    return keys


KeyRing = dict[str, Ed25519PublicKey]


def key_ring(public_keys: Iterable[Ed25519PublicKey]) -> KeyRing:
    """Public keys by key id, as checkpoints name them."""
    return {key_id(key): key for key in public_keys}


def current_public_key() -> Ed25519PublicKey:
    """The public half of the current signing key, without loading the private key (except
    on the embedded default, where signer and verifier are one machine)."""
    if settings.EIM_ARCHIVE_PUBLIC_KEY:
        return load_public_key(settings.EIM_ARCHIVE_PUBLIC_KEY)
    if settings.EIM_ARCHIVE_PUBLIC_KEY_FILE:
        return load_public_key(Path(settings.EIM_ARCHIVE_PUBLIC_KEY_FILE).read_text())
    if settings.DEBUG or settings.EIM_ARCHIVE_DEVELOPMENT_KEY:
        return signing_key().public_key()
    raise ImproperlyConfigured(
        "set EIM_ARCHIVE_PUBLIC_KEY_FILE or EIM_ARCHIVE_PUBLIC_KEY (the signing key's public "
        "half, PEM; `manage.py archive_public_key` on the signer prints it)"
    )


def own_key_ring() -> KeyRing:
    """The keys our checkpoints may name: the current public key, and the retired ones."""
    keys = [current_public_key()]
    if settings.EIM_ARCHIVE_RETIRED_PUBLIC_KEYS_FILE:
        retired = Path(settings.EIM_ARCHIVE_RETIRED_PUBLIC_KEYS_FILE).read_text()
        keys += load_public_keys(retired)
    return key_ring(keys)


def signature_valid(public_key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
