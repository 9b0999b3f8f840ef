"""The download's zip (compliance/export/package.py): standard, read back whole by Python's
`zipfile` and Info-ZIP's `unzip`, and its memory flat in the number of members."""

import io
import os
import shutil
import subprocess
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from compliance.export import package
from compliance.export.package import StreamingZip

pytestmark = pytest.mark.skipif(shutil.which("unzip") is None, reason="needs Info-ZIP unzip")


def _write(path: Path, streamed: dict[str, bytes], whole: dict[str, bytes]) -> None:
    with path.open("wb") as target:
        archive = StreamingZip(target)
        for name, data in streamed.items():
            archive.add_stream(name, io.BytesIO(data))
        archive.add_many(whole.items())
        archive.close()


def _unzip_test(path: Path) -> str:
    done = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_members_read_back_by_zipfile_and_unzip(tmp_path: Path) -> None:
    streamed = {
        "export-j/data/messages.jsonl": os.urandom(3 << 20) + b"x" * (2 << 20),
        "export-j/empty.csv": b"",
    }
    whole = {
        "export-j/eml/1/101.eml": b"From: a\r\n\r\nhello\r\n" * 50,
        "export-j/eml/1/Zoë 東京.eml": "naïve text, 東京".encode(),
        "export-j/eml/1/zero.eml": b"",
    }
    path = tmp_path / "export.zip"
    _write(path, streamed, whole)

    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [*streamed, *whole]
        for name, data in {**streamed, **whole}.items():
            assert archive.read(name) == data
            assert archive.getinfo(name).compress_type == zipfile.ZIP_DEFLATED
    listing = _unzip_test(path)
    assert "No errors detected" in listing
    for name, data in {**streamed, **whole}.items():
        shown = subprocess.run(["unzip", "-p", str(path), name], capture_output=True, check=True)
        assert shown.stdout == data


def test_more_members_than_the_classic_end_record_counts(tmp_path: Path) -> None:
    """Over 65,535 members the ZIP64 end records carry the count."""
    whole = {f"export-j/eml/{n // 1000}/{n}.eml": f"message {n}".encode() for n in range(70_000)}
    path = tmp_path / "many.zip"
    _write(path, {}, whole)

    with zipfile.ZipFile(path) as archive:
        assert len(archive.infolist()) == 70_000
        assert archive.read("export-j/eml/69/69999.eml") == b"message 69999"
        assert archive.read("export-j/eml/0/0.eml") == b"message 0"
    assert "No errors detected" in _unzip_test(path)


def test_memory_does_not_grow_with_the_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `zipfile` held per member until the end (about 530 bytes: half a gigabyte at a
    million EML files) is written to the directory's spool as the member is; the spool goes
    to disk past its size in memory (16 MB, 256 KB here)."""
    monkeypatch.setattr(package, "_DIRECTORY_IN_MEMORY", 256 << 10)
    members = ((f"export-j/eml/{n}.eml", b"m") for n in range(40_000))
    tracemalloc.start()
    try:
        with (tmp_path / "flat.zip").open("wb") as target:
            archive = StreamingZip(target)
            archive.add_many(members)
            _, peak = tracemalloc.get_traced_memory()
            archive.close()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
