"""The download's zip, written as a stream whose memory does not grow with the export.

Python's `zipfile` keeps one `ZipInfo` per member until the archive is closed (about 530
bytes each: half a gigabyte for an export of a million EML files) to write the central
directory at the end. Here each member's central-directory record is written, as soon as
its member is, to a spooled file of its own, and copied after the last member: what stays in
memory is one member's compressed bytes (a bundled file) or one block of a streamed one.

The archive is standard PKZIP (APPNOTE 6.3): members deflated at level 1 (about four times
faster than zlib's default for a few per cent more bytes), names in UTF-8 (flag bit 11) when
they are not ASCII, ZIP64 fields where a size, an offset or the number of members needs them
(a streamed member always carries them in its local header, whose sizes are written back
once known, as `zipfile` does with `force_zip64`). Read back by `zipfile` and by Info-ZIP's
`unzip` in the tests.
"""

import struct
import tempfile
import time
import zlib
from collections.abc import Iterable
from typing import IO, Final

_LOCAL: Final = struct.Struct("<4s5H3L2H")
_CENTRAL: Final = struct.Struct("<4s6H3L5H2L")
_END: Final = struct.Struct("<4s4H2LH")
_END64: Final = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64: Final = struct.Struct("<4sLQL")
_ZIP64_TAG: Final = 0x0001
_MAX32: Final = 0xFFFFFFFF
_MAX16: Final = 0xFFFF
_DEFLATED: Final = 8
_UTF8: Final = 0x800
_MADE_BY: Final = 3 << 8 | 45  # Unix, APPNOTE 4.5
_FILE_MODE: Final = (0o100644 & 0xFFFF) << 16
_BLOCK: Final = 1 << 20
_DIRECTORY_IN_MEMORY: Final = 16 << 20


def _dos_time(moment: time.struct_time) -> tuple[int, int]:
    clock = moment.tm_hour << 11 | moment.tm_min << 5 | moment.tm_sec // 2
    day = (max(moment.tm_year, 1980) - 1980) << 9 | moment.tm_mon << 5 | moment.tm_mday
    return clock, day


def _name(path: str) -> tuple[bytes, int]:
    return path.encode(), 0 if path.isascii() else _UTF8


def _deflater() -> "zlib._Compress":
    return zlib.compressobj(1, zlib.DEFLATED, -15)


class StreamingZip:
    """Members appended one by one to `target` (seekable, opened for writing), then
    `close()` writes the central directory and the end records."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self._directory = tempfile.SpooledTemporaryFile(max_size=_DIRECTORY_IN_MEMORY)  # noqa: SIM115
        self._count = 0
        self._clock, self._day = _dos_time(time.localtime())

    def add_bytes(self, path: str, data: bytes) -> None:
        """A member whose bytes are at hand: compressed first, its header exact."""
        deflater = _deflater()
        packed = deflater.compress(data) + deflater.flush()
        self._member(path, zlib.crc32(data), packed_size=len(packed), size=len(data), body=packed)

    def add_stream(self, path: str, source: IO[bytes]) -> None:
        """A member read block by block from `source`: its header carries ZIP64 sizes,
        written back when the member ends."""
        name, flags = _name(path)
        offset = self._target.tell()
        self._target.write(self._local(name, flags, 0, 0, 0, zip64=True))
        deflater, crc, size, packed_size = _deflater(), 0, 0, 0
        while block := source.read(_BLOCK):
            crc, size = zlib.crc32(block, crc), size + len(block)
            packed = deflater.compress(block)
            packed_size += len(packed)
            self._target.write(packed)
        packed = deflater.flush()
        packed_size += len(packed)
        self._target.write(packed)
        end = self._target.tell()
        self._target.seek(offset)
        self._target.write(self._local(name, flags, crc, packed_size, size, zip64=True))
        self._target.seek(end)
        self._central(name, flags, crc, packed_size, size, offset)

    def add_many(self, members: Iterable[tuple[str, bytes]]) -> None:
        for path, data in members:
            self.add_bytes(path, data)

    def close(self) -> None:
        start = self._target.tell()
        self._directory.seek(0)
        while block := self._directory.read(_BLOCK):
            self._target.write(block)
        self._directory.close()
        size = self._target.tell() - start
        if self._count >= _MAX16 or start >= _MAX32 or size >= _MAX32:
            at = self._target.tell()
            self._target.write(
                _END64.pack(
                    b"PK\x06\x06",
                    _END64.size - 12,
                    45,
                    45,
                    0,
                    0,
                    self._count,
                    self._count,
                    size,
                    start,
                )
            )
            self._target.write(_LOCATOR64.pack(b"PK\x06\x07", 0, at, 1))
        count = min(self._count, _MAX16)
        self._target.write(
            _END.pack(b"PK\x05\x06", 0, 0, count, count, min(size, _MAX32), min(start, _MAX32), 0)
        )

    def _member(self, path: str, crc: int, *, packed_size: int, size: int, body: bytes) -> None:
        name, flags = _name(path)
        offset = self._target.tell()
        zip64 = size >= _MAX32 or packed_size >= _MAX32
        self._target.write(self._local(name, flags, crc, packed_size, size, zip64=zip64))
        self._target.write(body)
        self._central(name, flags, crc, packed_size, size, offset)

    def _local(
        self, name: bytes, flags: int, crc: int, packed_size: int, size: int, *, zip64: bool
    ) -> bytes:
        extra = struct.pack("<2H2Q", _ZIP64_TAG, 16, size, packed_size) if zip64 else b""
        sizes = (_MAX32, _MAX32) if zip64 else (packed_size, size)
        header = _LOCAL.pack(
            b"PK\x03\x04",
            45 if zip64 else 20,
            flags,
            _DEFLATED,
            self._clock,
            self._day,
            crc,
            *sizes,
            len(name),
            len(extra),
        )
        return header + name + extra

    def _central(
        self, name: bytes, flags: int, crc: int, packed_size: int, size: int, offset: int
    ) -> None:
        wide = [v for v in (size, packed_size, offset) if v >= _MAX32]
        extra = struct.pack(f"<2H{len(wide)}Q", _ZIP64_TAG, 8 * len(wide), *wide) if wide else b""
        self._directory.write(
            _CENTRAL.pack(
                b"PK\x01\x02",
                _MADE_BY,
                45 if wide else 20,
                flags,
                _DEFLATED,
                self._clock,
                self._day,
                crc,
                min(packed_size, _MAX32),
                min(size, _MAX32),
                len(name),
                len(extra),
                0,
                0,
                0,
                _FILE_MODE,
                min(offset, _MAX32),
            )
            + name
            + extra
        )
        self._count += 1
