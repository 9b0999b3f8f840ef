"""Where an export's files live: the `exports` storage (filesystem under var/exports by
default, S3 in production), under `<job id>/`.

    <job>/parts/<n>/<file>   what step n appended to a concatenated file (JSON Lines, CSV)
    <job>/parts/<n>/files.zip  the whole files step n made (one EML per message), in one
                             stored zip: one storage write per step rather than one per file,
                             and files.jsonl, their paths, SHA-256 and sizes for the manifest
    <job>/export/...         the export folder: the finished files, manifest, verifier
    <job>/export-<job>.zip   the folder zipped, what is downloaded
    <job>/assembling/<token>/<file>  a run's concatenated file while its parts are appended
                             (`Assembly`, filesystem only); removed with the parts it was
                             made of once the folder's files are final
    <job>/writing/<random>   a file being written, renamed to its name when whole
                             (filesystem only)

A step's part and whole files are written under names fixed by the step, before the step's
cursor commits: a step redone after a crash writes the same bytes under the same names.
The manifest lists the bundled files with the folder's, and the download's zip holds them in
the folder: what a recipient unpacks is one folder either way.
"""

import hashlib
import io
import json
import os
import shutil
import struct
import sys
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, storages

EXPORT_DIR = "export"


def export_storage() -> Storage:
    return storages["exports"]


BUNDLE = "files.zip"
BUNDLE_INDEX = "files.jsonl"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


#: Where the filesystem's files are written before they are renamed to their names:
#: `<job>/writing/<random>`, outside the folder and the parts.
WRITING_DIR = "writing"


def put(name: str, content: bytes | File) -> None:
    """Write `name` whole, replacing what a redone step or an earlier attempt left there:
    one call where the storage overwrites (the filesystem's `allow_overwrite`, S3).

    On the filesystem the file is written under another name and renamed to `name`, so that
    a reader never sees it part-written: a step's part is read (`Assembly`) while a worker
    that lost the job may still be writing the same part again (the same bytes), and a file
    cut short by a crash must not stand under its name. An object store's put is whole."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        _put_renamed(storage, name, content)
        return
    overwrites = getattr(storage, "allow_overwrite", False) or getattr(
        storage, "file_overwrite", False
    )
    if not overwrites and storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(content) if isinstance(content, bytes) else content)
    if saved != name:
        raise RuntimeError(f"the export storage saved {name} as {saved}")


def _put_renamed(storage: FileSystemStorage, name: str, content: bytes | File) -> None:
    writing = f"{name.split('/', 1)[0]}/{WRITING_DIR}/{uuid.uuid4().hex}"
    saved = storage.save(writing, ContentFile(content) if isinstance(content, bytes) else content)
    if saved != writing:
        raise RuntimeError(f"the export storage saved {writing} as {saved}")
    final = Path(storage.path(name))
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(storage.path(writing), final)


def part_name(job_id: str, part: int, path: str) -> str:
    return f"{job_id}/parts/{part:08d}/{path}"


def export_name(job_id: str, path: str) -> str:
    return f"{job_id}/{EXPORT_DIR}/{path}"


def bundle_name(job_id: str, part: int) -> str:
    return part_name(job_id, part, BUNDLE)


def bundle_bytes(members: dict[str, bytes]) -> bytes:
    """A step's whole files as one stored zip, byte for byte the same for the same files.

    Written record by record here, the bytes `zipfile` writes for the same files (tested
    against it): its per-file bookkeeping was a tenth of an EML export's CPU. A bundle that
    would need ZIP64 (never a step's, which is a few MB) is left to `zipfile`."""
    paths = sorted(members)
    size = sum(len(members[p]) + _RECORD_ROOM + 2 * len(p.encode()) for p in paths)
    if len(paths) > _MAX_ENTRIES or size > _MAX_PLAIN_SIZE or any("\0" in p for p in paths):
        return _bundle_by_zipfile(members)
    local: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for path in paths:
        data = members[path]
        name, flags = _zip_name(path)
        crc, length = zlib.crc32(data), len(data)
        local.append(
            _LOCAL_HEADER.pack(*_LOCAL_HEAD, flags, *_STORED_AT, crc, length, length, len(name), 0)
        )
        local.append(name)
        local.append(data)
        central.append(
            _CENTRAL_HEADER.pack(
                *_CENTRAL_HEAD,
                flags,
                *_STORED_AT,
                crc,
                length,
                length,
                len(name),
                *_CENTRAL_TAIL,
                offset,
            )
        )
        central.append(name)
        offset += _LOCAL_HEADER.size + len(name) + length
    directory = b"".join(central)
    end = _END_RECORD.pack(b"PK\x05\x06", 0, 0, len(paths), len(paths), len(directory), offset, 0)
    return b"".join(local) + directory + end


def _bundle_by_zipfile(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as bundle:
        for path in sorted(members):
            bundle.writestr(zipfile.ZipInfo(path, _ZIP_TIME), members[path])
    return buffer.getvalue()


def _zip_name(path: str) -> tuple[bytes, int]:
    """The name's bytes and flags as `zipfile` writes them: UTF-8 (flag 0x800) unless ASCII."""
    if path.isascii():
        return path.encode(), 0
    return path.encode(), _UTF8_NAME


# The fields of a stored member as `zipfile` writes them with ZipInfo(path, _ZIP_TIME) on a
# seekable file: version 2.0 made and needed, made on Unix (0 on Windows), no extra field,
# no comment, permissions rw------- (zipfile's default), the DOS time of 1980-01-01 00:00.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_CENTRAL_HEADER = struct.Struct("<4s4B4HL2L5H2L")
_END_RECORD = struct.Struct("<4s4H2LH")
_LOCAL_HEAD = (b"PK\x03\x04", 20, 0)
_CENTRAL_HEAD = (b"PK\x01\x02", 20, 0 if sys.platform == "win32" else 3, 20, 0)
_STORED_AT = (
    zipfile.ZIP_STORED,
    _ZIP_TIME[3] << 11 | _ZIP_TIME[4] << 5 | _ZIP_TIME[5] // 2,
    (_ZIP_TIME[0] - 1980) << 9 | _ZIP_TIME[1] << 5 | _ZIP_TIME[2],
)
_CENTRAL_TAIL = (0, 0, 0, 0, 0o600 << 16)  # extra, comment, disk, internal, external
_UTF8_NAME = 0x800
_RECORD_ROOM = _LOCAL_HEADER.size + _CENTRAL_HEADER.size
# Below zipfile's ZIP64 thresholds: 65,535 entries; 2 GiB - 1 of offsets, with the 5 % it
# allows a member for growth.
_MAX_ENTRIES = (1 << 16) - 1
_MAX_PLAIN_SIZE = int(((1 << 31) - 1) / 1.05) - _END_RECORD.size


def bundle_index(members: dict[str, bytes]) -> bytes:
    """The bundle's files as the manifest lists them (path, SHA-256, size), one JSON line
    each, computed while the bytes are at hand rather than read back at the end."""
    return "".join(_index_line(p, members[p]) for p in sorted(members)).encode()


def _index_line(path: str, data: bytes) -> str:
    """canonical_json({"path", "sha256", "size"}) and a newline, written out: the keys in
    their sorted order, the path quoted by the same encoder (tested equal)."""
    quoted = json.dumps(path, ensure_ascii=False)
    return f'{{"path":{quoted},"sha256":"{hashlib.sha256(data).hexdigest()}","size":{len(data)}}}\n'


def bundle_lines(job_id: str, *, parts: int) -> Iterator[bytes]:
    """The bundles' files as the manifest lists them, part by part: each one's canonical JSON
    line as the step wrote it (no newline), spliced into the manifest without decoding."""
    storage = export_storage()
    for part in range(parts):
        name = part_name(job_id, part, BUNDLE_INDEX)
        if storage.exists(name):
            with storage.open(name, "rb") as stream:
                for line in stream:
                    yield line.rstrip(b"\n")


def bundled(job_id: str, *, parts: int) -> Iterator[tuple[str, bytes]]:
    """(path in the folder, bytes) of every file the steps bundled, part by part."""
    storage = export_storage()
    for part in range(parts):
        name = bundle_name(job_id, part)
        if not storage.exists(name):
            continue
        with storage.open(name, "rb") as stream:
            data = stream.read()
        members = _stored_members(data)
        if members is None:  # not as bundle_bytes writes them (ZIP64): zipfile reads it
            with zipfile.ZipFile(io.BytesIO(data)) as bundle:
                members = [(info.filename, bundle.read(info)) for info in bundle.infolist()]
        yield from members


def _stored_members(data: bytes) -> list[tuple[str, bytes]] | None:
    """The members of a bundle as `bundle_bytes` writes it (stored, no extra fields, no data
    descriptors), read from its local headers, each checked against its CRC-32 as `zipfile`
    checks it; None for any other zip. For the download's zip: `zipfile`'s reading was a
    fifth of packaging a million EML files."""
    members, offset = [], 0
    while data.startswith(b"PK\x03\x04", offset):
        _, _, _, flags, method, _, _, crc, packed, size, name_size, extra_size = (
            _LOCAL_HEADER.unpack_from(data, offset)
        )
        if method != zipfile.ZIP_STORED or flags & ~_UTF8_NAME or extra_size or packed != size:
            return None
        start = offset + _LOCAL_HEADER.size + name_size
        name, body = data[start - name_size : start], data[start : start + size]
        if zlib.crc32(body) != crc:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {name!r}")
        members.append((name.decode("utf-8" if flags & _UTF8_NAME else "cp437"), body))
        offset = start + size
    end = data.rfind(b"PK\x05\x06")
    if end < 0 or _END_RECORD.unpack_from(data, end)[3] != len(members):
        return None
    return members


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


#: Where a run assembles its concatenated files before they are moved into the folder:
#: `<job>/assembling/<lease token>/<path>` (outside the folder, so never listed in it).
ASSEMBLING_DIR = "assembling"
#: A file's SHA-256 (hex) and size, as the manifest lists it.
Digest = tuple[str, int]


class Assembly:
    """A run's concatenated files (JSON Lines, CSV, the proofs), assembled from their parts
    in part order while the steps are still being written, and their SHA-256 and sizes taken
    from the bytes as they are appended: the worker waits on its step processes most of a
    parallel run, and the copy and the hash (a million messages: 2.4 GB) were then done
    again after the last step, on one core, while the step processes idled.

    Byte for byte `concatenate`'s result: the same parts (those present), in the same order.
    A run appends only parts already written (a child answered for the step), and a part is
    the same bytes whoever writes it. Each run assembles under its own lease token, so a
    worker that lost its lease never appends to another's files; a run that dies leaves its
    assembly behind, never in the folder, and the next run starts its own from part 0
    (`remove_assemblies` deletes them when the run's files are final).

    On the filesystem only (its files can be appended to and renamed into place); on another
    storage `complete` concatenates at the end as before and knows no digest."""

    def __init__(self, job_id: str, *, token: str, paths: Iterable[str]) -> None:
        self.job_id = job_id
        self.paths = list(paths)
        storage = export_storage()
        self._storage = storage if isinstance(storage, FileSystemStorage) else None
        self._root = f"{job_id}/{ASSEMBLING_DIR}/{token}"
        self._next = 0  # the first part not appended yet
        self._open: dict[str, IO[bytes]] = {}
        self._sha = {path: hashlib.sha256() for path in self.paths}
        self._size = dict.fromkeys(self.paths, 0)

    def through(self, part: int) -> None:
        """Append every part up to `part` (inclusive) not appended yet."""
        if self._storage is None:
            return
        while self._next <= part:
            for path in self.paths:
                self._append(path, self._storage.path(part_name(self.job_id, self._next, path)))
            self._next += 1

    def _append(self, path: str, part: str) -> None:
        try:
            with open(part, "rb") as stream:
                data = stream.read()
        except FileNotFoundError:  # the step wrote nothing to this file
            return
        target = self._open.get(path)
        if target is None:
            assert self._storage is not None
            name = self._storage.path(f"{self._root}/{path}")
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            target = self._open[path] = open(name, "wb")  # noqa: SIM115 (closed in complete)
        target.write(data)
        self._sha[path].update(data)
        self._size[path] += len(data)

    def complete(self, *, parts: int, beat: Callable[[], None]) -> None:
        """Append what is left of the job's `parts` (all of them on a resumed run), calling
        `beat` between parts, and close the files; `place` then moves them into the folder.
        On another storage: each file concatenated into the folder."""
        if self._storage is None:
            for path in self.paths:
                concatenate(self.job_id, parts=parts, path=path)
                beat()
            return
        while self._next < parts:
            self.through(self._next)
            beat()
        self.close()

    def place(self) -> dict[str, Digest]:
        """Move the completed files into the folder (each rename atomic: a file there is
        whole); their digests by path in the folder."""
        if self._storage is None:
            return {}
        for path in self.paths:
            assembled = Path(self._storage.path(f"{self._root}/{path}"))
            if path not in self._open:  # no part wrote to it: an empty file, as concatenated
                assembled.parent.mkdir(parents=True, exist_ok=True)
                assembled.write_bytes(b"")
            final = Path(self._storage.path(export_name(self.job_id, path)))
            final.parent.mkdir(parents=True, exist_ok=True)
            if self._storage.file_permissions_mode is not None:
                assembled.chmod(self._storage.file_permissions_mode)
            os.replace(assembled, final)
        return {path: (self._sha[path].hexdigest(), self._size[path]) for path in self.paths}

    def close(self) -> None:
        """Close what is open (the files stay until `place` or `remove_assemblies`)."""
        for target in self._open.values():
            target.close()


def remove_assemblies(job_id: str) -> None:
    """Delete every run's assembly of this job (the files are in the folder, or the job's
    run is over)."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        shutil.rmtree(storage.path(f"{job_id}/{ASSEMBLING_DIR}"), ignore_errors=True)


def parts_remove(job_id: str, *, parts: int, paths: Iterable[str]) -> None:
    """Delete the parts of these concatenated files, once the folder's files made of them are
    final: a copy of them all (2.4 GB for a million messages as JSON Lines) otherwise kept as
    long as the export."""
    storage = export_storage()
    for part in range(parts):
        for path in paths:
            name = part_name(job_id, part, path)
            if isinstance(storage, FileSystemStorage):
                Path(storage.path(name)).unlink(missing_ok=True)
            elif storage.exists(name):
                storage.delete(name)


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
