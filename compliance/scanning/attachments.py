"""Attachments' text for the scanner: the archived blob (never the live file), extracted in
a child process with limits (extraction.py)."""

from collections.abc import Iterator

from django.conf import settings

from archive.blobs import blob_store
from archive.selectors import ArchivedEvent

from .extraction import extract_text


def attachment_flags(event: ArchivedEvent) -> Iterator[tuple[str, str]]:
    """(text, "") to scan, and ("", why) when it could not be scanned (or not wholly)."""
    attachment = event.payload.get("attachment") or {}
    size = int(attachment.get("size") or 0)
    if size > settings.EIM_SCAN_ATTACHMENT_MAX_BYTES:
        yield "", f"could not scan: {size} bytes, over {settings.EIM_SCAN_ATTACHMENT_MAX_BYTES}"
        return
    store = blob_store()
    if not store.exists(attachment.get("sha256", "")):
        yield "", "could not scan: the archived file is missing"
        return
    with store.open(attachment["sha256"]) as stream:
        data = stream.read(settings.EIM_SCAN_ATTACHMENT_MAX_BYTES + 1)
    extracted = extract_text(
        data,
        filename=str(attachment.get("filename") or ""),
        content_type=str(attachment.get("content_type") or ""),
        max_pages=settings.EIM_SCAN_ATTACHMENT_MAX_PAGES,
        max_chars=settings.EIM_SCAN_ATTACHMENT_MAX_CHARS,
        seconds=settings.EIM_SCAN_ATTACHMENT_SECONDS,
        memory_mb=settings.EIM_SCAN_ATTACHMENT_MEMORY_MB,
    )
    if extracted is None:
        return
    if extracted.text:
        yield extracted.text, ""
    if extracted.problem:
        yield "", extracted.problem
