"""Attachments' text, extracted in a reused child process with limits, so that a zip bomb, a
pixel flood or a PDF that loops gets a clear "could not scan" answer, never a stuck worker.

    extract_text(data, filename=, content_type=, ...) ─▶ Extractor (one per process and
        memory limit) ─▶ python -m compliance.scanning.extraction (started once, reused)
        frames on stdin: {"kind", "max_pages", "max_chars", "seconds", "size"} + the file
        frames on stdout: {"text", "pages", "problem", "cpu_s"}

The child has an address-space limit (EIM_SCAN_ATTACHMENT_MEMORY_MB) for its whole life;
before each file it sets its CPU-time limit to what it has used plus
EIM_SCAN_ATTACHMENT_SECONDS (the kernel stops it past that), and the parent kills it when a
file takes longer than that in wall-clock time. It stops at EIM_SCAN_ATTACHMENT_MAX_PAGES
pages (sheets, slides) and EIM_SCAN_ATTACHMENT_MAX_CHARS characters. Office files are zip
archives: their declared uncompressed size is checked before any is read. A child that
failed, ran out of memory or was killed is replaced at the next file, and every
EXTRACTOR_MAX_FILES files one is replaced anyway (whatever a library leaks goes with it).
Formats: PDF (pypdf), DOCX (python-docx), XLSX (openpyxl, read-only), PPTX (python-pptx),
plain text and CSV. Images and other types carry no text to scan here.
"""

import json
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from dataclasses import dataclass
from io import BytesIO
from typing import IO, Any

KINDS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".pptx": "pptx",
    ".txt": "text",
    ".csv": "text",
    ".md": "text",
    ".log": "text",
}
ZIP_RATIO = 100  # uncompressed / compressed beyond this is a bomb, not a document
EXTRACTOR_MAX_FILES = 200


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: int
    problem: str  # why it could not be scanned (or not wholly); "" when it was
    cpu_seconds: float = 0.0  # the child's CPU time for this file


def kind_of(filename: str, content_type: str) -> str | None:
    extension = os.path.splitext(filename.lower())[1]
    if extension in KINDS:
        return KINDS[extension]
    if content_type.startswith("text/"):
        return "text"
    return None


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "big") + payload


class Extractor:
    """One reused child process with an address-space limit; extracts one file at a time."""

    def __init__(self, *, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.child: subprocess.Popen[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        self.owner = 0  # the pid that started the child (a forked copy must not share it)
        self.files = 0
        self.lock = threading.Lock()

    def extract(
        self, data: bytes, *, kind: str, max_pages: int, max_chars: int, seconds: int
    ) -> Extracted:
        with self.lock:
            child = self._child()
            header = json.dumps(
                {"kind": kind, "max_pages": max_pages, "max_chars": max_chars, "seconds": seconds}
            ).encode()
            try:
                assert child.stdin is not None
                child.stdin.write(_frame(header) + _frame(data))
                child.stdin.flush()
                reply = self._reply(child, deadline=time.monotonic() + seconds)
            except (BrokenPipeError, ConnectionResetError, EOFError):
                return Extracted("", 0, self._died())
            if reply is None:
                self.stop()
                return Extracted("", 0, f"could not scan: took longer than {seconds} s")
            self.files += 1
            answer = json.loads(reply)
            if answer.pop("restart", False) or self.files >= EXTRACTOR_MAX_FILES:
                self.stop()
            return Extracted(answer["text"], answer["pages"], answer["problem"], answer["cpu_s"])

    def _child(self) -> "subprocess.Popen[bytes]":
        if self.child is not None and (self.owner != os.getpid() or self.child.poll() is not None):
            self.stop()
        if self.child is None:
            self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
            memory = self.memory_mb * 2**20
            self.child = subprocess.Popen(
                [sys.executable, "-m", "compliance.scanning.extraction"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory)),
            )
            self.owner, self.files = os.getpid(), 0
        return self.child

    def _reply(self, child: "subprocess.Popen[bytes]", *, deadline: float) -> bytes | None:
        """The child's next frame, or None when the deadline passed first."""
        assert child.stdout is not None
        fd = child.stdout.fileno()
        buffer = b""
        size: int | None = None
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while size is None or len(buffer) < size + 8:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(timeout=left):
                    return None
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise EOFError
                buffer += chunk
                if size is None and len(buffer) >= 8:
                    size = int.from_bytes(buffer[:8], "big")
        return buffer[8 : 8 + size]

    def _died(self) -> str:
        child, stderr = self.child, self.stderr
        assert child is not None
        assert stderr is not None
        code = child.wait()
        stderr.seek(0)
        problem = _failure(code, stderr.read())
        self.stop()
        return problem

    def stop(self) -> None:
        if self.child is not None:
            if self.owner == os.getpid():
                self.child.kill()
                self.child.wait()
            self.child = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None


_extractors: dict[int, Extractor] = {}
_extractors_lock = threading.Lock()


def extractor(*, memory_mb: int) -> Extractor:
    """This process's extractor for that memory limit (started at its first file)."""
    with _extractors_lock:
        if memory_mb not in _extractors:
            _extractors[memory_mb] = Extractor(memory_mb=memory_mb)
        return _extractors[memory_mb]


def extract_text(
    data: bytes,
    *,
    filename: str,
    content_type: str,
    max_pages: int,
    max_chars: int,
    seconds: int,
    memory_mb: int,
) -> Extracted | None:
    """The file's text, or why it could not be read; None for a type with no text."""
    kind = kind_of(filename, content_type)
    if kind is None:
        return None
    return extractor(memory_mb=memory_mb).extract(
        data, kind=kind, max_pages=max_pages, max_chars=max_chars, seconds=seconds
    )


def _failure(code: int, stderr: bytes) -> str:
    last = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    if code < 0 or "MemoryError" in last[0]:
        return "could not scan: the file needs more memory or time than allowed"
    return f"could not scan: {last[0][:150]}"


# ----- the child


def _zip_checked(data: bytes, max_bytes: int) -> None:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    if declared > max_bytes or declared > ZIP_RATIO * max(len(data), 1):
        raise ValueError(f"could not scan: it unpacks to {declared} bytes (a zip bomb?)")


def _pdf(data: bytes, max_pages: int) -> tuple[list[str], int]:
    from pypdf import PdfReader

    reader = PdfReader(BytesIO(data))
    total = len(reader.pages)
    return [page.extract_text() or "" for page in reader.pages[:max_pages]], total


def _docx(data: bytes, max_pages: int) -> tuple[list[str], int]:
    import docx

    document = docx.Document(BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return ["\n".join(parts)], 1


def _xlsx(data: bytes, max_pages: int) -> tuple[list[str], int]:
    import openpyxl

    book = openpyxl.load_workbook(BytesIO(data), read_only=True, data_only=True)
    sheets = book.worksheets
    pages = []
    for sheet in sheets[:max_pages]:
        rows = sheet.iter_rows(values_only=True)
        pages.append("\n".join(" ".join(str(v) for v in row if v is not None) for row in rows))
    return pages, len(sheets)


def _pptx(data: bytes, max_pages: int) -> tuple[list[str], int]:
    from pptx import Presentation

    slides = list(Presentation(BytesIO(data)).slides)
    pages = [
        "\n".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)
        for slide in slides[:max_pages]
    ]
    return pages, len(slides)


def _text(data: bytes, max_pages: int) -> tuple[list[str], int]:
    return [data.decode("utf-8", errors="replace")], 1


READERS = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx, "pptx": _pptx, "text": _text}


def _extract(data: bytes, kind: str, max_pages: int, max_chars: int) -> dict[str, Any]:
    try:
        if kind in ("docx", "xlsx", "pptx"):
            _zip_checked(data, max_bytes=max_chars * 20)
        pages, total = READERS[kind](data, max_pages)
    except ValueError as exc:
        if str(exc).startswith("could not scan"):
            return {"text": "", "pages": 0, "problem": str(exc)}
        raise
    text = "\n".join(pages)
    problems = []
    if total > max_pages:
        problems.append(f"only the first {max_pages} of {total} pages were scanned")
    if len(text) > max_chars:
        text = text[:max_chars]
        problems.append(f"only the first {max_chars} characters were scanned")
    return {"text": text, "pages": min(total, max_pages), "problem": "; ".join(problems)}


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(8)
    if len(head) < 8:
        return None  # the parent went away
    return stream.read(int.from_bytes(head, "big"))


def _one(job: dict[str, Any], data: bytes) -> dict[str, Any]:
    """Extract one file under this file's CPU limit; a failure is an answer, not an exit."""
    used = sum(os.times()[:2])
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used) + int(job["seconds"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard < 0 else min(soft, hard), hard))
    started = time.process_time()
    restart = False
    try:
        answer = _extract(data, job["kind"], job["max_pages"], job["max_chars"])
    except MemoryError:
        restart = True  # a fresh child for the next file
        answer = {"text": "", "pages": 0, "problem": _failure(1, b"MemoryError")}
    except Exception as exc:
        last = traceback.format_exception_only(exc)[-1].encode()
        answer = {"text": "", "pages": 0, "problem": _failure(1, last)}
    return {**answer, "cpu_s": time.process_time() - started, "restart": restart}


def _serve() -> None:
    """The child: one file after another until the parent closes stdin. Whatever a library
    prints goes to stderr; only frames go to the parent's pipe."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    while (header := _read_frame(sys.stdin.buffer)) is not None:
        data = _read_frame(sys.stdin.buffer) or b""
        replies.write(_frame(json.dumps(_one(json.loads(header), data)).encode()))
        replies.flush()


if __name__ == "__main__":
    _serve()
