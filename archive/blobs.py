"""Content-addressed, write-once storage for attachment bytes.

The filesystem store (default) writes each blob once under its SHA-256 and makes it read-only.
The S3 store writes with Object Lock in COMPLIANCE mode and a retain-until date; it never
shortens a retention period (S3 refuses that in compliance mode, but not every S3-compatible
store does, so the application checks too).
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class BlobIntegrityError(Exception):
    """Stored bytes do not hash to their name."""


class RetentionShorteningError(Exception):
    """An attempt to move a retain-until date earlier."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    locked_until: datetime | None = None
    version_id: str = ""


class BlobStore(Protocol):
    def put(self, sha256: str, stream: IO[bytes]) -> StoredBlob: ...

    def open(self, sha256: str) -> IO[bytes]: ...

    def exists(self, sha256: str) -> bool: ...


def hash_stream(stream: IO[bytes]) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    while chunk := stream.read(1024 * 1024):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


class FilesystemBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("a blob is named by a lowercase hex SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def open(self, sha256: str) -> IO[bytes]:
        return self._path(sha256).open("rb")

    def put(self, sha256: str, stream: IO[bytes]) -> StoredBlob:
        path = self._path(sha256)
        if path.exists():
            with path.open("rb") as existing:
                digest, size = hash_stream(existing)
            if digest != sha256:
                raise BlobIntegrityError(f"stored blob {sha256} hashes to {digest}")
            return StoredBlob(sha256=sha256, size=size)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest, size = self._write_new(path, stream)
        if digest != sha256:
            raise BlobIntegrityError(f"blob {sha256} arrived with content hashing to {digest}")
        return StoredBlob(sha256=sha256, size=size)

    def _write_new(self, path: Path, stream: IO[bytes]) -> tuple[str, int]:
        sha = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(1024 * 1024):
                    sha.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if sha.hexdigest() == path.name:
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, path)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        return sha.hexdigest(), size


class S3ObjectLockBlobStore:
    """Blobs in an S3 bucket with Object Lock enabled, each version locked in COMPLIANCE mode."""

    def __init__(
        self,
        bucket: str,
        *,
        retention_days: int,
        endpoint_url: str | None = None,
        prefix: str = "blobs/",
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix
        self.retention = timedelta(days=retention_days)
        self.client = boto3.client("s3", endpoint_url=endpoint_url)

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError:
            return False
        return True

    def open(self, sha256: str) -> IO[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"]
        return body

    def put(self, sha256: str, stream: IO[bytes]) -> StoredBlob:
        data = stream.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise BlobIntegrityError(f"blob {sha256} arrived with content hashing to {digest}")
        until = (timezone.now() + self.retention).replace(microsecond=0)
        if self.exists(sha256):
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
            return StoredBlob(
                sha256=sha256,
                size=int(head["ContentLength"]),
                locked_until=head.get("ObjectLockRetainUntilDate"),
                version_id=head.get("VersionId", ""),
            )
        response = self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(sha256),
            Body=data,
            ChecksumAlgorithm="SHA256",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
        )
        return StoredBlob(
            sha256=sha256,
            size=len(data),
            locked_until=until,
            version_id=response.get("VersionId", ""),
        )

    def extend_retention(self, sha256: str, until: datetime) -> None:
        """Move a blob's retain-until date later; refuse to move it earlier."""
        key = self._key(sha256)
        # HeadObject carries the lock; GetObjectRetention is missing from some S3-compatible
        # stores (moto among them).
        current = self.client.head_object(Bucket=self.bucket, Key=key).get(
            "ObjectLockRetainUntilDate"
        )
        if current is not None and until <= current:
            raise RetentionShorteningError(
                f"blob {sha256} is retained until {current:%Y-%m-%d %H:%M:%S}; "
                "a retention period can only be extended"
            )
        self.client.put_object_retention(
            Bucket=self.bucket,
            Key=key,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until},
        )


def blob_store() -> BlobStore:
    config = settings.EIM_ARCHIVE_BLOB_STORE
    cls = import_string(config["BACKEND"])
    return cls(**config.get("OPTIONS", {}))
