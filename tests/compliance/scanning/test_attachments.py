"""Attachments' text: each format extracted in a limited child process and scanned like a
message; what cannot be read gets a clear "could not scan" flag."""

import io
import time
import zipfile

import docx
import openpyxl
import pytest
from django.db import connection
from pptx import Presentation
from pypdf import PdfWriter

from archive.models import ArchiveRecord
from archive.selectors import archive_head_seq
from archive.services.archiving import archive_pending
from compliance.models import Flag, ReviewItem
from compliance.scanning.attachments import attachment_texts_prepare
from compliance.scanning.extraction import extract_text, extractor
from compliance.scanning.models import AttachmentText, ScanState
from compliance.scanning.stage import scan_pending
from tests.factories import ChannelFactory, send, staged_attachment

from .conftest import make_policy

LIMITS = {"max_pages": 5, "max_chars": 100_000, "seconds": 20, "memory_mb": 512}


def docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes(text: str) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["ref", text])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pptx_bytes(text: str) -> bytes:
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = text
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def pdf_bytes(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "filename"),
    [(docx_bytes, "memo.docx"), (xlsx_bytes, "book.xlsx"), (pptx_bytes, "deck.pptx")],
)
def test_office_files_text_is_extracted(make, filename):
    found = extract_text(make("we guarantee returns"), filename=filename, content_type="", **LIMITS)
    assert "we guarantee returns" in found.text
    assert found.problem == ""


def test_plain_text_and_csv():
    found = extract_text(b"a,b\nrisk free,1\n", filename="x.csv", content_type="text/csv", **LIMITS)
    assert found.text == "a,b\nrisk free,1\n"


def test_a_pdf_past_the_page_limit_is_scanned_in_part_and_says_so():
    found = extract_text(
        pdf_bytes(8), filename="long.pdf", content_type="application/pdf", **LIMITS
    )
    assert found.pages == 5
    assert found.problem == "only the first 5 of 8 pages were scanned"


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("word/document.xml", b"\0" * 50_000_000)
    found = extract_text(out.getvalue(), filename="bomb.docx", content_type="", **LIMITS)
    assert found.text == ""
    assert found.problem.startswith("could not scan: it unpacks to 50000000 bytes")


def test_a_file_that_needs_more_memory_than_allowed_could_not_be_scanned():
    found = extract_text(
        pdf_bytes(1), filename="a.pdf", content_type="", **{**LIMITS, "memory_mb": 20}
    )
    assert found.text == ""
    assert found.problem.startswith("could not scan")


def test_a_broken_file_could_not_be_scanned():
    found = extract_text(b"not a pdf at all", filename="a.pdf", content_type="", **LIMITS)
    assert found.problem.startswith("could not scan")


def test_images_carry_no_text_to_scan():
    assert extract_text(b"\x89PNG", filename="a.png", content_type="image/png", **LIMITS) is None


@pytest.mark.usefixtures("archive_blobs")
def test_an_attachments_text_is_scanned_after_archiving(alice, officer):
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel, docx_bytes("I guarantee it"), "memo.docx")
    message = send(alice, channel, "see attached", attachment_ids=[upload.pk])
    broken = staged_attachment(alice, channel, b"%PDF-1.4 broken", "broken.pdf")
    send(alice, channel, "and this", attachment_ids=[broken.pk])

    archive_pending()
    scan_pending()

    hit = Flag.objects.get(source="attachment", policy_version__isnull=False)
    assert (hit.message_id, hit.hits[0]["text"]) == (message.pk, "guarantee")
    unscannable = Flag.objects.get(source="attachment", policy_version__isnull=True)
    assert unscannable.unscannable.startswith("could not scan")
    assert ReviewItem.objects.count() == 2


def pdf_with_content(content: bytes) -> bytes:
    """A one-page PDF whose page draws `content` (a content stream), built by hand."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )


def test_one_extracting_process_reads_file_after_file():
    first = extract_text(docx_bytes("one"), filename="a.docx", content_type="", **LIMITS)
    child = extractor(memory_mb=LIMITS["memory_mb"]).child
    second = extract_text(
        pdf_with_content(b"BT /F1 9 Tf 9 99 Td (two) Tj ET"),
        filename="b.pdf",
        content_type="",
        **LIMITS,
    )

    assert (first.text.strip(), second.text.strip()) == ("one", "two")
    assert child is not None
    assert extractor(memory_mb=LIMITS["memory_mb"]).child is child  # not one process per file


def test_a_pdf_that_never_finishes_could_not_be_scanned_and_the_next_file_is_read():
    # 400,000 text operators keep pypdf busy far past the limit, as a looping PDF would
    endless = pdf_with_content(b"BT /F1 9 Tf " + b"1 0 Td (x) Tj " * 400_000 + b"ET")
    started = time.monotonic()
    found = extract_text(endless, filename="loop.pdf", content_type="", **{**LIMITS, "seconds": 1})
    assert found.problem == "could not scan: took longer than 1 s"
    assert time.monotonic() - started < 5  # the worker is not stuck

    after = extract_text(
        pdf_with_content(b"BT /F1 9 Tf 9 99 Td (next) Tj ET"),
        filename="n.pdf",
        content_type="",
        **LIMITS,
    )
    assert (after.text.strip(), after.problem) == ("next", "")


@pytest.mark.usefixtures("archive_blobs")
def test_an_attachment_is_extracted_once_and_its_stored_text_consumed_by_the_scan(
    alice, officer, monkeypatch
):
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel, docx_bytes("I guarantee it"), "memo.docx")
    send(alice, channel, "see attached", attachment_ids=[upload.pk])
    archive_pending()
    head = archive_head_seq()

    assert attachment_texts_prepare(first_seq=1, last_seq=head) == 1
    assert attachment_texts_prepare(first_seq=1, last_seq=head) == 0  # stored: not again
    monkeypatch.setattr("compliance.scanning.attachments.extract_text", _no_extraction)
    scan_pending()

    assert Flag.objects.get(source="attachment").hits[0]["text"] == "guarantee"
    assert not AttachmentText.objects.exists()  # read by its batch, then deleted


@pytest.mark.usefixtures("archive_blobs")
def test_a_batch_stops_before_an_attachment_whose_text_is_not_stored_yet(
    alice, officer, monkeypatch
):
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "I guarantee this one")
    upload = staged_attachment(alice, channel, docx_bytes("I guarantee it"), "memo.docx")
    send(alice, channel, "see attached", attachment_ids=[upload.pk])
    archive_pending()
    attachment_seq = ArchiveRecord.objects.get(event_type="attachment.added").seq
    # the attachment is archived after this worker extracted its window
    monkeypatch.setattr("compliance.scanning.stage.attachment_texts_prepare", lambda **_: 0)

    scan_pending(max_batches=1)

    assert ScanState.objects.get().last_seq == attachment_seq - 1
    monkeypatch.undo()
    scan_pending()
    assert ScanState.objects.get().last_seq == archive_head_seq()
    assert Flag.objects.filter(source="attachment").count() == 1
    assert Flag.objects.filter(source="message").count() == 1


def _no_extraction(*args, **kwargs):
    raise AssertionError("extracted again")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("archive_blobs")
def test_extraction_runs_with_no_transaction_open(alice, officer, monkeypatch):
    # a slow file must not hold the scanning state's lock (nor any other) while it is read
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel, docx_bytes("I guarantee it"), "memo.docx")
    send(alice, channel, "see attached", attachment_ids=[upload.pk])
    archive_pending()
    seen = []

    def watched(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return extract_text(*args, **kwargs)

    monkeypatch.setattr("compliance.scanning.attachments.extract_text", watched)
    scan_pending()

    assert seen == [False]
    assert Flag.objects.filter(source="attachment").count() == 1
