"""The transcript's layout, without a database: the running header and "page X of Y" on every
page, and the transcript's own user-agent stylesheet in force (docs/performance.md)."""

import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from archive.selectors import MESSAGE_NEW, ArchivedEvent
from compliance.export.formats import pdf
from compliance.export.formats.pdf_render import render

from .test_pdf import text_of


def _history(n: int, body: str) -> list[ArchivedEvent]:
    return [
        ArchivedEvent(
            seq=n,
            type=MESSAGE_NEW,
            conversation_id=1,
            conversation_seq=n,
            message_id=n,
            actor_id=7,
            occurred_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC) + timedelta(seconds=n),
            audience=(7,),
            payload={"message": {"author": {"name": "Zoë Müller"}, "body": body}},
        )
    ]


class _Names:
    def conversation_name(self, conversation_id: int) -> str:
        return "desk"


def test_every_page_carries_the_running_header_and_its_number(tmp_path: Path):
    transcript = pdf.Transcript(1, date(2026, 3, 2), 0)
    for n in range(150):
        transcript.blocks += pdf._message_blocks(_history(n, f"line {n} 株式 مرحبا"))
    exporter = pdf.PdfFormat(export_id="export-7f3a")
    _key, document = exporter._render(transcript, _Names())  # type: ignore[arg-type]
    path = tmp_path / "t.pdf"
    path.write_bytes(render(document))
    pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(path)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )

    assert pages >= 3
    for page in range(1, pages + 1):
        done = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        flat = " ".join(done.stdout.split())
        assert "#desk · 2026-03-02 (UTC)" in flat, page
        assert f"export export-7f3a · page {page} of {pages}" in flat, page
    # pdftotext marks right-to-left runs with U+202B ... U+202C.
    every = " ".join(text_of(path).replace("\u202b", "").replace("\u202c", "").split())
    assert "Zoë Müller · 2026-03-02 08:02:29 UTC · seq 149 line 149 株式 مرحبا" in every


def test_the_transcript_replaces_weasyprints_user_agent_stylesheet():
    """WeasyPrint's own stylesheet (every HTML element, attribute selectors matched against
    each element) cost a sixth of a render; the transcript's gives `body` no 8px margin and
    `p` no 1em. Fails if WeasyPrint stops asking `_ua_stylesheets` (an upgrade)."""
    from compliance.export.formats.pdf_render import _document_class

    page = (
        _document_class()(string="<html><body><p>x</p></body></html>").render().pages[0]._page_box
    )
    body = page.children[0].children[0]
    paragraph = body.children[0]

    assert (body.margin_left, body.margin_top) == (0, 0)
    assert paragraph.margin_top == 0
