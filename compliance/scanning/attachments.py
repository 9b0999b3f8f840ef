"""Attachments' text for the scanner: the archived blob (never the live file), extracted in
a reused child process with limits (extraction.py), before the scanning transaction.

    scan_pending ─▶ attachment_texts_prepare(window)   no transaction held; each file's
                      └▶ extract ─▶ AttachmentText row   row written on its own, idempotent
                 ─▶ transaction: scan the window, reading the rows; delete them; move state
"""

from collections.abc import Iterator, Mapping

from django.conf import settings

from archive.blobs import blob_store
from archive.selectors import ATTACHMENT_ADDED, ArchivedEvent, archived_events

from .extraction import Extracted, extract_text
from .models import AttachmentText


def attachment_extract(event: ArchivedEvent) -> Extracted | None:
    """The attachment's text, or why it could not be read; None for a type without text."""
    attachment = event.payload.get("attachment") or {}
    size = int(attachment.get("size") or 0)
    limit = settings.EIM_SCAN_ATTACHMENT_MAX_BYTES
    if size > limit:
        return Extracted("", 0, f"could not scan: {size} bytes, over {limit}")
    store = blob_store()
    if not store.exists(attachment.get("sha256", "")):
        return Extracted("", 0, "could not scan: the archived file is missing")
    with store.open(attachment["sha256"]) as stream:
        data = stream.read(limit + 1)
    return extract_text(
        data,
        filename=str(attachment.get("filename") or ""),
        content_type=str(attachment.get("content_type") or ""),
        max_pages=settings.EIM_SCAN_ATTACHMENT_MAX_PAGES,
        max_chars=settings.EIM_SCAN_ATTACHMENT_MAX_CHARS,
        seconds=settings.EIM_SCAN_ATTACHMENT_SECONDS,
        memory_mb=settings.EIM_SCAN_ATTACHMENT_MEMORY_MB,
    )


def attachment_text_of(event: ArchivedEvent) -> AttachmentText:
    found = attachment_extract(event) or Extracted("", 0, "")
    return AttachmentText(
        archive_seq=event.seq,
        text=found.text,
        problem=found.problem[:200],
        pages=found.pages,
        cpu_seconds=found.cpu_seconds,
    )


def attachment_texts_prepare(*, first_seq: int, last_seq: int) -> int:
    """Extract the attachments archived in first_seq..last_seq that have no text stored
    yet; each is written at once on its own (a rerun, or a worker doing the same window,
    writes nothing twice). Call it outside any transaction. How many were extracted."""
    events = archived_events(first_seq=first_seq, last_seq=last_seq, types=[ATTACHMENT_ADDED])
    done = set(
        AttachmentText.objects.filter(archive_seq__in=[e.seq for e in events]).values_list(
            "archive_seq", flat=True
        )
    )
    extracted = 0
    for event in events:
        if event.seq not in done:
            row = attachment_text_of(event)
            AttachmentText.objects.bulk_create([row], ignore_conflicts=True)
            extracted += 1
    return extracted


def attachment_texts(*, seqs: list[int]) -> dict[int, AttachmentText]:
    return {row.archive_seq: row for row in AttachmentText.objects.filter(archive_seq__in=seqs)}


def attachment_flags(
    event: ArchivedEvent, texts: Mapping[int, AttachmentText]
) -> Iterator[tuple[str, str]]:
    """(text, "") to scan, and ("", why) when it could not be scanned (or not wholly).
    From the stored extraction; extracted here only for a caller that stored none."""
    row = texts.get(event.seq) or attachment_text_of(event)
    if row.text:
        yield row.text, ""
    if row.problem:
        yield "", row.problem
