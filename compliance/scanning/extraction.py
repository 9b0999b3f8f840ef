"""Attachments' text, extracted in a child process with limits, so that a zip bomb, a pixel
flood or a PDF that loops gets a clear "could not scan" answer, never a stuck worker.

    extract_text(data, filename=, content_type=) ─▶ python -m compliance.scanning.extraction
        (stdin: the file; stdout: JSON {"text", "pages", "problem"})

The child has an address-space limit (EIM_SCAN_ATTACHMENT_MEMORY_MB), a CPU-time limit and a
wall-clock timeout (EIM_SCAN_ATTACHMENT_SECONDS), and stops at EIM_SCAN_ATTACHMENT_MAX_PAGES
pages (sheets, slides) and EIM_SCAN_ATTACHMENT_MAX_CHARS characters. Office files are zip
archives: their declared uncompressed size is checked before any is read. Formats: PDF
(pypdf), DOCX (python-docx), XLSX (openpyxl, read-only), PPTX (python-pptx), plain text and
CSV. Images and other types carry no text to scan here.
"""

import json
import os
import resource
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from io import BytesIO
from typing import Any

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


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: int
    problem: str  # why it could not be scanned (or not wholly); "" when it was


def kind_of(filename: str, content_type: str) -> str | None:
    extension = os.path.splitext(filename.lower())[1]
    if extension in KINDS:
        return KINDS[extension]
    if content_type.startswith("text/"):
        return "text"
    return None


def _limits(memory_mb: int, seconds: int) -> None:
    """In the child, before it reads anything."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


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
    try:
        done = subprocess.run(  # noqa: S603 - our own module, no shell
            [
                sys.executable,
                "-m",
                "compliance.scanning.extraction",
                kind,
                str(max_pages),
                str(max_chars),
            ],
            input=data,
            capture_output=True,
            timeout=seconds,
            preexec_fn=lambda: _limits(memory_mb, seconds),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Extracted("", 0, f"could not scan: took longer than {seconds} s")
    if done.returncode != 0:
        return Extracted("", 0, _failure(done.returncode, done.stderr))
    answer = json.loads(done.stdout)
    return Extracted(answer["text"], answer["pages"], answer["problem"])


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


def _child(kind: str, max_pages: int, max_chars: int) -> dict[str, Any]:
    data = sys.stdin.buffer.read()
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


if __name__ == "__main__":
    kind, max_pages, max_chars = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.stdout.write(json.dumps(_child(kind, max_pages, max_chars)))
