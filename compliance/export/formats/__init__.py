"""The export formats, by name; each one a module over the shared base."""

from typing import Any

from django.conf import settings

from .base import ArchiveLookups, ChunkOutput, ConversationReader, ExportedRecord, ExportFormat
from .dat import DatFormat
from .eml import EmlFormat
from .jsonl import JsonLinesFormat
from .pdf import PdfFormat
from .rsmf import RsmfFormat
from .spreadsheet import CsvFormat


def formats_for(options: dict[str, Any], *, export_id: str = "") -> list[ExportFormat]:
    chosen: list[ExportFormat] = []
    for name in options.get("formats") or ():
        if name == "jsonl":
            chosen.append(JsonLinesFormat())
        elif name == "csv":
            chosen.append(CsvFormat())
        elif name == "eml":
            chosen.append(EmlFormat(include_attachments=bool(options.get("include_attachments"))))
        elif name == "pdf":
            chosen.append(PdfFormat(export_id=export_id, workers=settings.EIM_EXPORT_PDF_WORKERS))
        elif name == "dat":
            chosen.append(DatFormat(include_attachments=bool(options.get("include_attachments"))))
        elif name == "rsmf":
            chosen.append(RsmfFormat(include_attachments=bool(options.get("include_attachments"))))
    return chosen


__all__ = [
    "ArchiveLookups",
    "ChunkOutput",
    "ConversationReader",
    "ExportFormat",
    "ExportedRecord",
    "formats_for",
]
