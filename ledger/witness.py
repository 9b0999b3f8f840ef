"""Witnesses: append-only stores outside the database that keep every signed checkpoint.

A database superuser can rewrite a ledger's rows and delete its checkpoints; the copies a
witness holds stay, so verification sees what was removed or changed. Each checkpoint is
written once under its ledger's name and tree size (`archive-00000000000000001000.json`) and
never rewritten:

- `DirectoryWitness`: a file per checkpoint, written to a temporary file, fsynced, made
  read-only and hard-linked into its name (which fails when the name exists, like O_EXCL, and
  never leaves a half-written file under it), then the directory is fsynced. Put the directory
  on another host or volume than the database (a mount the database host cannot write).
- `S3ObjectLockWitness`: an object per checkpoint in a bucket with Object Lock, each version
  locked in COMPLIANCE mode until its retain-until date. A second version under the same name
  (a rewrite by someone holding the bucket's credentials) is reported, never read as the copy.
"""

import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class WitnessError(Exception):
    """A witness could not keep or give back a checkpoint."""


class WitnessConflictError(WitnessError):
    """The witness already holds different bytes under that checkpoint's name."""


class Witness(Protocol):
    name: str

    def put(self, ledger: str, tree_size: int, data: bytes) -> None:
        """Keep a checkpoint; a no-op when these bytes are already kept, WitnessConflictError when
        other bytes are."""

    def get(self, ledger: str, tree_size: int) -> bytes | None: ...

    def sizes(self, ledger: str) -> list[int]:
        """The tree sizes of the checkpoints kept for `ledger`, ascending."""


def checkpoint_file_name(ledger: str, tree_size: int) -> str:
    return f"{ledger}-{tree_size:020d}.json"


def _name_pattern(ledger: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(ledger)}-(\d{{20}})\.json")


class DirectoryWitness:
    def __init__(self, root: str | Path, name: str = "") -> None:
        self.root = Path(root)
        self.name = name or f"directory {self.root}"

    def put(self, ledger: str, tree_size: int, data: bytes) -> None:
        path = self.root / checkpoint_file_name(ledger, tree_size)
        existing = self.get(ledger, tree_size)
        if existing is not None:
            if existing != data:
                raise WitnessConflictError(f"{self.name} holds another {path.name}")
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._write_once(path, data)
        except FileExistsError:
            if self.get(ledger, tree_size) != data:
                raise WitnessConflictError(f"{self.name} holds another {path.name}") from None
        except OSError as error:
            raise WitnessError(f"{self.name} could not keep {path.name}: {error}") from error

    def _write_once(self, path: Path, data: bytes) -> None:
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o444)
            os.link(tmp_name, path)  # fails if the name exists: written once
        finally:
            os.unlink(tmp_name)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def get(self, ledger: str, tree_size: int) -> bytes | None:
        try:
            return (self.root / checkpoint_file_name(ledger, tree_size)).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise WitnessError(f"{self.name} could not read a checkpoint: {error}") from error

    def sizes(self, ledger: str) -> list[int]:
        pattern = _name_pattern(ledger)
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise WitnessError(f"{self.name} could not be listed: {error}") from error
        return sorted(int(m.group(1)) for n in names if (m := pattern.fullmatch(n)))


class S3ObjectLockWitness:
    """Checkpoints in an S3 bucket created with Object Lock, each locked in COMPLIANCE mode."""

    def __init__(
        self,
        bucket: str,
        *,
        retention_days: int,
        endpoint_url: str | None = None,
        prefix: str = "checkpoints/",
        name: str = "",
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix
        self.retention = timedelta(days=retention_days)
        self.client = boto3.client("s3", endpoint_url=endpoint_url)
        self.name = name or f"s3://{bucket}/{prefix}"

    def _key(self, ledger: str, tree_size: int) -> str:
        return f"{self.prefix}{checkpoint_file_name(ledger, tree_size)}"

    def put(self, ledger: str, tree_size: int, data: bytes) -> None:
        existing = self.get(ledger, tree_size)
        if existing is not None:
            if existing != data:
                raise WitnessConflictError(f"{self.name} holds another {tree_size}")
            return
        until = (timezone.now() + self.retention).replace(microsecond=0)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(ledger, tree_size),
                Body=data,
                ChecksumAlgorithm="SHA256",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=until,
            )
        except Exception as error:  # any client or network failure: the copy was not kept
            raise WitnessError(f"{self.name} could not keep {tree_size}: {error}") from error

    def get(self, ledger: str, tree_size: int) -> bytes | None:
        key = self._key(ledger, tree_size)
        try:
            listing = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
            versions = [v for v in listing.get("Versions", []) if v["Key"] == key]
            if not versions:
                return None
            bodies = {
                self.client.get_object(Bucket=self.bucket, Key=key, VersionId=v["VersionId"])[
                    "Body"
                ].read()
                for v in versions
            }
        except Exception as error:  # any client or network failure: the copy is unreadable
            raise WitnessError(f"{self.name} could not read {tree_size}: {error}") from error
        if len(bodies) > 1:
            raise WitnessConflictError(f"{self.name} holds {len(bodies)} different versions")
        return bodies.pop()

    def sizes(self, ledger: str) -> list[int]:
        pattern = _name_pattern(ledger)
        found: set[int] = set()
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}{ledger}-"
            )
            for page in pages:
                for item in page.get("Contents", []):
                    match = pattern.fullmatch(item["Key"][len(self.prefix) :])
                    if match:
                        found.add(int(match.group(1)))
        except Exception as error:  # any client or network failure
            raise WitnessError(f"{self.name} could not be listed: {error}") from error
        return sorted(found)


def load_witnesses(config: list[dict[str, Any]]) -> list[Witness]:
    """Witnesses from settings: [{"BACKEND": "ledger.witness.DirectoryWitness", "OPTIONS": ...}]."""
    return [import_string(entry["BACKEND"])(**entry.get("OPTIONS", {})) for entry in config]


def configured_witnesses() -> list[Witness]:
    """The witnesses of settings.EIM_WITNESSES; every ledger is kept by the same ones."""
    return load_witnesses(settings.EIM_WITNESSES)


def _witness_one(witness: Witness, ledger: str, newest_first: Iterable[tuple[int, bytes]]) -> None:
    """Newest first, the checkpoints this witness lacks, back to the newest one it holds."""
    for tree_size, data in newest_first:
        kept = witness.get(ledger, tree_size)
        if kept is not None:
            if kept != data:
                logger.error(
                    "witness %s holds another %s checkpoint %s than the database: verify the %s",
                    witness.name,
                    ledger,
                    tree_size,
                    ledger,
                )
            return
        witness.put(ledger, tree_size, data)


def witness_checkpoints(
    ledger: str, newest_first: Callable[[], Iterable[tuple[int, bytes]]]
) -> list[str]:
    """Give each witness the checkpoints of `ledger` it lacks; `newest_first()` yields the
    database's checkpoints as (tree size, checkpoint file), newest first. Returns the failures
    (also logged); the next checkpoint task retries them."""
    failures = []
    for witness in configured_witnesses():
        try:
            _witness_one(witness, ledger, newest_first())
        except WitnessError as error:
            failures.append(f"{witness.name}: {error}")
            logger.error(
                "witness %s did not keep a checkpoint (%s: %s); the next checkpoint task retries",
                witness.name,
                ledger,
                error,
            )
    return failures
