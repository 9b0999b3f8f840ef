"""CSV for spreadsheets: one row per message version (the original, each edit, the deletion).

RFC 4180: comma-separated, fields quoted when they hold a comma, quote or line break (quotes
doubled), CRLF line ends; UTF-8 with a byte-order mark so that Excel reads it as UTF-8. Times
are UTC, ISO 8601. Recipients are the usernames of the version's audience at its moment;
`context` is true for a message exported as context around a hit.
"""

import csv
import io
from typing import Any

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


#: Recipient lists kept per format (one per run): past this many, the cache starts over.
RECIPIENTS_KEPT = 10_000


def _message(content: dict[str, Any]) -> dict[str, Any]:
    payload = content.get("payload")
    message = payload.get("message") if isinstance(payload, dict) else None
    return message if isinstance(message, dict) else {}


class CsvFormat(ExportFormat):
    appended = (FILE,)
    name = "csv"

    def __init__(self) -> None:
        # "; "-joined usernames per (conversation, audience as recorded): a conversation's
        # messages mostly share a few audiences.
        self._recipients: dict[tuple[int, tuple[Any, ...]], str] = {}

    def head(self) -> ChunkOutput:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(COLUMNS)
        return ChunkOutput(appends={FILE: b"\xef\xbb\xbf" + buffer.getvalue().encode()})

    def chunk(self, records: list[ExportedRecord], lookups: ArchiveLookups) -> ChunkOutput:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        rows = [self._row(r, lookups) for r in records if r.listed and r.row.type in VERSIONS]
        writer.writerows(rows)
        return ChunkOutput(appends={FILE: buffer.getvalue().encode()}, counts={"rows": len(rows)})

    def _recipients_of(self, cid: int, audience: Any, lookups: ArchiveLookups) -> str:
        key = (cid, tuple(audience or ()))
        recipients = self._recipients.get(key)
        if recipients is None:
            if len(self._recipients) >= RECIPIENTS_KEPT:
                self._recipients.clear()
            ids = [int(i) for i in key[1]]
            recipients = self._recipients[key] = "; ".join(lookups.usernames(cid, ids))
        return recipients

    def _row(self, record: ExportedRecord, lookups: ArchiveLookups) -> list[str]:
        row, content = record.row, record.content
        message = _message(content)
        author = message.get("author") or {}
        attachments = message.get("attachments") or []
        cid = row.conversation_id
        return [
            str(row.seq),
            str(row.message_id or ""),
            VERSIONS[row.type],
            _utc(row.occurred_at.isoformat()),
            _utc(message.get("created_at")),
            str(cid),
            lookups.conversation_name(cid),
            str(author.get("id", "")),
            str(author.get("username", "")),
            str(author.get("name", "")),
            self._recipients_of(cid, content.get("audience"), lookups),
            str(message.get("body", "")),
            "true" if row.type == MESSAGE_EDITED else "false",
            "true" if row.type == MESSAGE_DELETED else "false",
            str(message.get("parent") or ""),
            "; ".join(str(a.get("filename", "")) for a in attachments) if attachments else "",
            "; ".join(str(a.get("sha256", "")) for a in attachments) if attachments else "",
            "true" if record.context else "false",
        ]
