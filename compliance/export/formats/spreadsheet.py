"""CSV for spreadsheets: one row per message version (the original, each edit, the deletion).

RFC 4180: comma-separated, fields quoted when they hold a comma, quote or line break (quotes
doubled), CRLF line ends; UTF-8 with a byte-order mark so that Excel reads it as UTF-8. Times
are UTC, ISO 8601. Recipients are the usernames of the version's audience at its moment;
`context` is true for a message exported as context around a hit.
"""

import csv
import io

from archive.selectors import MESSAGE_DELETED, MESSAGE_EDITED, MESSAGE_NEW

from .base import ArchiveLookups, ChunkOutput, ExportedRecord, ExportFormat

FILE = "messages.csv"
COLUMNS = (
    "archive_seq",
    "message_id",
    "version",
    "occurred_at_utc",
    "written_at_utc",
    "conversation_id",
    "conversation",
    "sender_id",
    "sender_username",
    "sender_name",
    "recipients",
    "text",
    "is_edit",
    "is_deleted",
    "thread_parent_id",
    "attachment_names",
    "attachment_sha256",
    "context",
)
VERSIONS = {MESSAGE_NEW: "original", MESSAGE_EDITED: "edit", MESSAGE_DELETED: "deletion"}


def _utc(value: str | None) -> str:
    return value.replace("+00:00", "Z") if value else ""


def _row(record: ExportedRecord, lookups: ArchiveLookups) -> list[str]:
    message = record.message
    author = message.get("author") or {}
    attachments = message.get("attachments") or []
    cid = record.row.conversation_id
    return [
        str(record.row.seq),
        str(record.row.message_id or ""),
        VERSIONS[record.row.type],
        _utc(record.row.occurred_at.isoformat()),
        _utc(message.get("created_at")),
        str(cid),
        lookups.conversation_name(cid),
        str(author.get("id", "")),
        str(author.get("username", "")),
        str(author.get("name", "")),
        "; ".join(lookups.usernames(cid, record.audience)),
        str(message.get("body", "")),
        "true" if record.row.type == MESSAGE_EDITED else "false",
        "true" if record.row.type == MESSAGE_DELETED else "false",
        str(message.get("parent") or ""),
        "; ".join(str(a.get("filename", "")) for a in attachments),
        "; ".join(str(a.get("sha256", "")) for a in attachments),
        "true" if record.context else "false",
    ]


class CsvFormat(ExportFormat):
    appended = (FILE,)
    name = "csv"

    def head(self) -> ChunkOutput:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(COLUMNS)
        return ChunkOutput(appends={FILE: b"\xef\xbb\xbf" + buffer.getvalue().encode()})

    def chunk(self, records: list[ExportedRecord], lookups: ArchiveLookups) -> ChunkOutput:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        rows = [_row(r, lookups) for r in records if r.listed and r.row.type in VERSIONS]
        writer.writerows(rows)
        return ChunkOutput(appends={FILE: buffer.getvalue().encode()}, counts={"rows": len(rows)})
