"""Attachments' text: each format extracted in a limited child process and scanned like a
message; what cannot be read gets a clear "could not scan" flag."""

import io
import zipfile

import docx
import openpyxl
import pytest
from pptx import Presentation
from pypdf import PdfWriter

from archive.services.archiving import archive_pending
from compliance.models import Flag, ReviewItem
from compliance.scanning.extraction import extract_text
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
