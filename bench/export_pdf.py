"""PDF transcripts alone: messages/s and CPU ms per message of the HTML and its rendering
(WeasyPrint, in `--workers` child processes), without the database or the archive's proofs.

    .venv/bin/python bench/export_pdf.py                       # 10,000 messages, 1 and 2 workers
    .venv/bin/python bench/export_pdf.py --workers 2 --runs 3
    .venv/bin/python bench/export_pdf.py --profile var/pdf.prof  # cProfile, rendered in-process
    .venv/bin/python bench/export_pdf.py --pages var/pdf-pages   # the first transcript, PNGs

The transcripts are built by the export's own code (`_message_blocks`, `PdfFormat._render`)
from made-up histories: the body of bench/export.py (Latin with a CJK word), one message in
ten edited, one in fifty deleted, one in twenty with an attachment, one in eight a thread reply,
one in thirty in Arabic or Russian. Documents hold `MAX_MESSAGES` messages, like one busy
conversation-day. CPU is this process's plus its finished children's (the renderers, their
start-up included).
"""

import argparse
import cProfile
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eim.settings.test")
django.setup()

from archive.selectors import (  # noqa: E402
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    ArchivedEvent,
)
from compliance.export.formats import pdf  # noqa: E402
from compliance.export.formats.pdf_render import render, render_all  # noqa: E402

BODY = "quarterly numbers line {n} for the desk: ACME 4.2% guidance, call me — 株式 {n}"
OTHER = ("تم تحديث الأرقام الفصلية {n}", "квартальные цифры обновлены {n}")
NAMES = ("Alice Martin", "Bob Okafor", "Chen Wei 陈伟", "Dana Ivanova", "Émile Durand")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _event(seq: int, kind: str, n: int, body: str, parent: int | None) -> ArchivedEvent:
    message: dict[str, Any] = {
        "author": {"name": NAMES[n % 5], "username": f"p{n % 5}"},
        "body": body,
        "parent": parent,
    }
    if kind == MESSAGE_NEW and n % 20 == 3:
        message["attachments"] = [
            {"filename": f"numbers-{n}.xlsx", "size": 18_422, "sha256": f"{n:064x}"}
        ]
    return ArchivedEvent(
        seq=seq,
        type=kind,
        conversation_id=1,
        conversation_seq=seq,
        message_id=n,
        actor_id=n % 5,
        occurred_at=START + timedelta(seconds=7 * n + (seq - n)),
        audience=(0, 1, 2, 3, 4),
        payload={"message": message},
    )


def history(n: int) -> list[ArchivedEvent]:
    """Message `n`'s versions: created, sometimes edited, sometimes deleted."""
    body = OTHER[(n // 30) % 2].format(n=n) if n % 30 == 7 else BODY.format(n=n)
    parent = n - 3 if n % 8 == 5 else None
    versions = [_event(n, MESSAGE_NEW, n, body, parent)]
    if n % 10 == 1:
        versions.append(_event(n + 1, MESSAGE_EDITED, n, body + " (corrected)", parent))
    if n % 50 == 9:
        versions.append(_event(n + 2, MESSAGE_DELETED, n, "", parent))
    return versions


class Names:
    def conversation_name(self, conversation_id: int) -> str:
        return "trading-desk"


def documents(messages: int) -> Iterator[tuple[tuple[str, int], str]]:
    """The transcripts' HTML, `pdf.MAX_MESSAGES` messages each."""
    exporter = pdf.PdfFormat(export_id="9b7f2c1e-5d4a-4c3b-8a29-0f6e1d2c3b4a")
    for part, first in enumerate(range(0, messages, pdf.MAX_MESSAGES)):
        transcript = pdf.Transcript(1, START.date(), part)
        for n in range(first, min(first + pdf.MAX_MESSAGES, messages)):
            transcript.blocks += pdf._message_blocks(history(n))
            transcript.messages += 1
        yield exporter._render(transcript, Names())  # type: ignore[arg-type]


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def one(messages: int, workers: int) -> dict[str, float]:
    """One run in this (fresh) process."""
    cpu, wall = _cpu(), time.perf_counter()
    size = 0
    for _key, document in render_all(documents(messages), workers=workers):
        size += len(document)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    return {
        "messages_per_s": messages / wall,
        "cpu_ms_per_message": 1000 * cpu / messages,
        "wall_s": wall,
        "bytes": size,
    }


def fresh_run(messages: int, workers: int) -> dict[str, float]:
    """`one` in a fresh process, so that its CPU and its children's are its own."""
    command = [sys.executable, __file__, "--messages", str(messages), "--one", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def profile(messages: int, out: str) -> None:
    html = [document for _key, document in documents(messages)]
    render("<html><body><p>warm-up</p></body></html>")
    profiler = cProfile.Profile()
    profiler.enable()
    for document in html:
        render(document)
    profiler.disable()
    profiler.dump_stats(out)
    print(f"profile of {messages:,} messages written to {out}")


def pages(folder: str) -> None:
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    (_key, document), *_ = documents(pdf.MAX_MESSAGES)
    (target / "transcript.pdf").write_bytes(render(document))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "3", "transcript.pdf", "page"],
        cwd=target,
        check=True,
    )
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-singlefile", "-f", "40", "transcript.pdf", "page-40"],
        cwd=target,
        check=True,
    )
    print(f"pages in {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of one in-process render here")
    parser.add_argument("--pages", help="write the first transcript and PNGs of pages here")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.profile:
        return profile(options.messages, options.profile)
    if options.pages:
        return pages(options.pages)
    if options.one is not None:
        print(json.dumps(one(options.messages, options.one)))
        return
    for workers in [int(w) for w in options.workers.split(",")]:
        runs = [fresh_run(options.messages, workers) for _ in range(options.runs)]
        for measure in ("messages_per_s", "cpu_ms_per_message"):
            values = [run[measure] for run in runs]
            print(
                f"{workers} worker(s), {options.messages:,} messages, {measure}: median "
                f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"
                f"; {runs[0]['bytes'] / 1e6:.1f} MB of PDF",
                flush=True,
            )


if __name__ == "__main__":
    main()
