"""PDF transcripts: one per conversation and day; the text read back (pdftotext) holds every
message, its author and time, edits and deletions as such, attachment hashes, non-Latin
script, the running header and page X of Y."""

import subprocess
from pathlib import Path

import pytest

from compliance.export import services

from .conftest import World, run_to_end, unpacked

pytestmark = pytest.mark.django_db


def text_of(path: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def transcripts(world: World, officer, tmp_path: Path) -> tuple[list[Path], str]:
    job = services.export_create(
        user=officer, conversation_ids=[world.channel.pk, world.direct.pk], formats=["pdf"]
    )
    job = run_to_end(job)
    assert job.state == "done", job.error
    folder = unpacked(job, tmp_path / "received")
    return sorted((folder / "pdf").rglob("*.pdf")), str(job.pk)


def test_one_transcript_per_conversation_day(transcripts, world):
    paths, _ = transcripts

    assert {p.parent.name for p in paths} == {str(world.channel.pk), str(world.direct.pk)}
    assert all(p.read_bytes().startswith(b"%PDF-") for p in paths)


def test_the_text_read_back_holds_every_message_as_it_happened(transcripts, world):
    paths, export_id = transcripts
    channel = text_of(next(p for p in paths if p.parent.name == str(world.channel.pk)))
    flat = " ".join(channel.split())

    for words in (
        "buy 100 shares of ACME before the announcement",
        "buy 100 shares of ACME, as agreed",
        "delete this: the insider tip, ok?",
        "株式 取引",
        "the numbers",
    ):
        assert words in flat, words
    assert "edited" in flat
    assert "deleted" in flat
    assert f"reply to message {world.edited.pk}" in flat
    assert "Alice" in flat
    assert "Bob" in flat
    assert "UTC" in flat
    assert "#trading-desk" in flat
    assert export_id in flat
    assert "page 1 of 1" in flat
    attachment_line = next(line for line in channel.splitlines() if "SHA-256" in line)
    assert "numbers," in attachment_line
    direct = text_of(next(p for p in paths if p.parent.name == str(world.direct.pk)))
    assert "lunch at noon?" in direct


def test_child_processes_render_the_documents_in_the_order_given(tmp_path: Path):
    from compliance.export.formats.pdf_render import render_all

    documents = [(n, f"<html><body><p>document number {n}</p></body></html>") for n in range(5)]

    rendered = list(render_all(iter(documents), workers=2))

    assert [key for key, _ in rendered] == list(range(5))
    for key, pdf in rendered:
        path = tmp_path / f"{key}.pdf"
        path.write_bytes(pdf)
        assert f"document number {key}" in text_of(path)
