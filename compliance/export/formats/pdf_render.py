"""PDF transcripts rendered in child processes, one document at a time each, so that a job's
conversation-days are laid out on every core (WeasyPrint is pure Python: one process, one
core). The children are plain subprocesses running this file (no Django in them), because a
Celery prefork worker is daemonic and may not start multiprocessing children.

Frames on the pipes: an 8-byte big-endian length, then the bytes (HTML in, PDF out). Each
child has at most one document in flight, and documents come back in the order they went in.

The transcripts use a few HTML elements only, so WeasyPrint's user-agent stylesheet (every
HTML element, with attribute selectors every element is matched against) is replaced by
`USER_AGENT_CSS`: the cascade was 11 % of a render, and a sixth of that time goes
(docs/performance.md).
"""

import functools
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

Key = TypeVar("Key")
_LENGTH = struct.Struct(">Q")


# What the transcript needs of an HTML user agent's defaults: the elements it uses (html,
# body, h1, p; head and style hidden), the h1 as the PDF outline's entry, and the margin
# boxes' alignment.
USER_AGENT_CSS = """
head, style, meta, title { display: none }
html, body, h1, p { display: block }
h1 { font-weight: bold; bookmark-level: 1; bookmark-label: content(text); break-after: avoid }
@page {
  @top-left { text-align: left; vertical-align: middle }
  @bottom-left { text-align: left; vertical-align: middle } }
"""


@functools.cache
def _document_class() -> Any:
    """WeasyPrint's HTML with `USER_AGENT_CSS` for its user-agent stylesheet (imported on
    first use: the export process does not load WeasyPrint unless it renders itself)."""
    from weasyprint import CSS, HTML

    user_agent = CSS(string=USER_AGENT_CSS)

    class TranscriptHTML(HTML):
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [user_agent]

    return TranscriptHTML


def render(html: str) -> bytes:
    return bytes(_document_class()(string=html).write_pdf() or b"")


def _send(stream: IO[bytes], data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes:
    header = stream.read(_LENGTH.size)
    if len(header) != _LENGTH.size:
        raise RuntimeError("a PDF rendering process stopped")
    (size,) = _LENGTH.unpack(header)
    return stream.read(size)


def render_all(
    documents: Iterable[tuple[Key, str]], *, workers: int
) -> Iterator[tuple[Key, bytes]]:
    """(key, PDF) of each (key, HTML), in order; rendered here when `workers` < 2."""
    if workers < 2:
        for key, html in documents:
            yield key, render(html)
        return
    children = [
        subprocess.Popen(  # noqa: S603 (this file, run by this interpreter)
            [sys.executable, str(Path(__file__))], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        for _ in range(workers)
    ]
    idle, busy = deque(children), deque[tuple[subprocess.Popen[bytes], Key]]()
    try:
        for key, html in documents:
            if not idle:
                child, done = busy.popleft()
                yield done, _receive(child.stdout)  # type: ignore[arg-type]
                idle.append(child)
            child = idle.popleft()
            _send(child.stdin, html.encode())  # type: ignore[arg-type]
            busy.append((child, key))
        while busy:
            child, done = busy.popleft()
            yield done, _receive(child.stdout)  # type: ignore[arg-type]
    finally:
        for child in children:
            if child.stdin:
                child.stdin.close()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


def main() -> None:
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while header := source.read(_LENGTH.size):
        (size,) = _LENGTH.unpack(header)
        _send(sink, render(source.read(size).decode()))


if __name__ == "__main__":
    main()
