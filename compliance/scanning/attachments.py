"""Attachments' text for the scanner (extraction with limits: see extraction.py)."""

from collections.abc import Iterator

from archive.selectors import ArchivedEvent


def attachment_flags(event: ArchivedEvent) -> Iterator[tuple[str, str]]:
    """(text, "") for an attachment's text to scan, or ("", why) when it cannot be scanned.

    Not built yet: attachments are not scanned (docs/scanning.md, "Not yet").
    """
    return iter(())
