"""Where an export's files live: the `exports` storage (filesystem under var/exports by
default, S3 in production), under `<job id>/`.

    <job>/parts/<n>/<file>   what step n appended to a concatenated file (JSON Lines, CSV)
    <job>/parts/<n>/files.zip  the whole files step n made (one EML per message), in one
                             stored zip: one storage write per step rather than one per file,
                             and files.jsonl, their paths, SHA-256 and sizes for the manifest
    <job>/export/...         the export folder: the finished files, manifest, verifier
    <job>/export-<job>.zip   the folder zipped, what is downloaded

A step's part and whole files are written under names fixed by the step, before the step's
cursor commits: a step redone after a crash writes the same bytes under the same names.
The manifest lists the bundled files with the folder's, and the download's zip holds them in
the folder: what a recipient unpacks is one folder either way.
"""

import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, storages

from ledger.canonical import canonical_json

EXPORT_DIR = "export"


def export_storage() -> Storage:
    return storages["exports"]


BUNDLE = "files.zip"
BUNDLE_INDEX = "files.jsonl"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def put(name: str, content: bytes | File) -> None:
    """Write `name` whole, replacing what a redone step or an earlier attempt left there:
    one call where the storage overwrites (the filesystem's `allow_overwrite`, S3)."""
    storage = export_storage()
    overwrites = getattr(storage, "allow_overwrite", False) or getattr(
        storage, "file_overwrite", False
    )
    if not overwrites and storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(content) if isinstance(content, bytes) else content)
    if saved != name:
        raise RuntimeError(f"the export storage saved {name} as {saved}")


def part_name(job_id: str, part: int, path: str) -> str:
    return f"{job_id}/parts/{part:08d}/{path}"


def export_name(job_id: str, path: str) -> str:
    return f"{job_id}/{EXPORT_DIR}/{path}"


def bundle_name(job_id: str, part: int) -> str:
    return part_name(job_id, part, BUNDLE)


def bundle_bytes(members: dict[str, bytes]) -> bytes:
    """A step's whole files as one stored zip, byte for byte the same for the same files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as bundle:
        for path in sorted(members):
            bundle.writestr(zipfile.ZipInfo(path, _ZIP_TIME), members[path])
    return buffer.getvalue()


def bundle_index(members: dict[str, bytes]) -> bytes:
    """The bundle's files as the manifest lists them (path, SHA-256, size), one JSON line
    each, computed while the bytes are at hand rather than read back at the end."""
    lines = (
        canonical_json(
            {"path": p, "sha256": hashlib.sha256(members[p]).hexdigest(), "size": len(members[p])}
        )
        for p in sorted(members)
    )
    return "".join(f"{line}\n" for line in lines).encode()


def bundle_entries(job_id: str, *, parts: int) -> Iterator[dict[str, Any]]:
    storage = export_storage()
    for part in range(parts):
        name = part_name(job_id, part, BUNDLE_INDEX)
        if storage.exists(name):
            with storage.open(name, "rb") as stream:
                for line in stream:
                    yield json.loads(line)


def bundled(job_id: str, *, parts: int) -> Iterator[tuple[str, bytes]]:
    """(path in the folder, bytes) of every file the steps bundled, part by part."""
    storage = export_storage()
    for part in range(parts):
        name = bundle_name(job_id, part)
        if not storage.exists(name):
            continue
        with storage.open(name, "rb") as stream, zipfile.ZipFile(stream) as bundle:
            for info in bundle.infolist():
                yield info.filename, bundle.read(info)


def zip_name(job_id: str) -> str:
    return f"{job_id}/export-{job_id}.zip"


#: Bytes read and written at a time when assembling a file from its parts.
CONCATENATION_CHUNK = 1 << 20


class _Concatenation(io.RawIOBase):
    """The parts of one file read one after another, without holding more than a chunk:
    each read hands on the part's own bytes (no copy through a buffer of ours)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names: Iterator[str] = iter(names)
        self._current: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while True:
            if self._current is None:
                name = next(self._names, None)
                if name is None:
                    return b""
                self._current = export_storage().open(name, "rb")
            data = self._current.read(size if size > 0 else CONCATENATION_CHUNK)
            if data:
                return data
            self._current.close()
            self._current = None

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def concatenate(job_id: str, *, parts: int, path: str) -> None:
    """Assemble `path` of the export folder from the parts that wrote to it, in order."""
    storage = export_storage()
    names = [part_name(job_id, n, path) for n in range(parts)]
    present = [name for name in names if storage.exists(name)]
    assembled = File(_Concatenation(present), name=path)  # type: ignore[arg-type]
    assembled.DEFAULT_CHUNK_SIZE = CONCATENATION_CHUNK  # the storage writes what it reads
    put(export_name(job_id, path), assembled)


def walk(prefix: str) -> Iterator[str]:
    """Every file under `prefix` (relative to it), sorted."""
    storage = export_storage()
    directories, files = storage.listdir(prefix)
    for name in sorted(files):
        yield name
    for directory in sorted(directories):
        for name in walk(f"{prefix}/{directory}"):
            yield f"{directory}/{name}"


def digest(name: str) -> tuple[str, int]:
    """SHA-256 (hex) and size of a stored file, read in 1 MiB blocks."""
    sha, size = hashlib.sha256(), 0
    with export_storage().open(name, "rb") as stream:
        while block := stream.read(1 << 20):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size


def remove_tree(prefix: str) -> None:
    """Delete every file under `prefix` (an object store's prefix is no object of its own, so
    it is listed, never asked whether it exists)."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage) and not storage.exists(prefix):
        return
    for name in list(walk(prefix)):
        storage.delete(f"{prefix}/{name}")
    if isinstance(storage, FileSystemStorage):  # object stores have no empty folders left
        shutil.rmtree(storage.path(prefix), ignore_errors=True)
