"""PDF transcripts rendered in child processes, one document at a time each, so that a job's
conversation-days are laid out on every core (WeasyPrint is pure Python: one process, one
core). The children are plain subprocesses running this file (no Django in them), because a
Celery prefork worker is daemonic and may not start multiprocessing children.

Frames on the pipes: an 8-byte big-endian length, then the bytes (HTML in, PDF out). Each
child has at most one document in flight, and documents come back in the order they went in.
"""

import struct
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TypeVar

Key = TypeVar("Key")
_LENGTH = struct.Struct(">Q")


def render(html: str) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=html).write_pdf() or b"")


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
