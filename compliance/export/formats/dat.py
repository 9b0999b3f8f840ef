"""A Concordance DAT load file with natives, for review platforms (Relativity, Concordance,
Nuix, Reveal): `loadfile.dat` and one native per message, `natives/<control number>.eml`.

The DAT is the de facto standard: UTF-8 with a byte-order mark, CRLF line ends, the first
line the field names; every value between þ (U+00FE, the text qualifier) and values
separated by the DC4 control character (0x14, shown ¶ by Concordance); a line break inside a
value is written ® (U+00AE). A value holding þ or 0x14 has them replaced by U+FFFD (the
natives and records.jsonl keep the exact text).

One document per message, numbered in the order the messages were written (archive seq):
`EIM00000001`, `EIM00000002`, … BEGDOC and ENDDOC are the same number (a chat message is one
document of one page); a reply names its parent's message id in THREADPARENT. NATIVEPATH is
the native's path relative to the DAT, with the backslashes Concordance and Relativity
expect; the native is the message's EML (the same rendering as the EML format: every
version, attachments when included).
"""

from collections.abc import Iterable
from typing import Any

from archive.selectors import MESSAGE_DELETED, MESSAGE_EDITED, MESSAGE_NEW

from .base import ArchiveLookups, ChunkOutput, ExportedRecord, ExportFormat
from .eml import message_eml

FILE = "loadfile.dat"
QUOTE, SEPARATOR, NEWLINE = "\u00fe", "\x14", "\u00ae"
PREFIX = "EIM"
FIELDS = (
    "BEGDOC",
    "ENDDOC",
    "MESSAGEID",
    "CONVERSATIONID",
    "CONVERSATION",
    "FROM",
    "TO",
    "DATESENT",
    "TEXT",
    "THREADPARENT",
    "EDITED",
    "DELETED",
    "CONTEXT",
    "ATTACHMENTNAMES",
    "ATTACHMENTSHA256",
    "ARCHIVESEQS",
    "NATIVEPATH",
)


def control_number(number: int) -> str:
    return f"{PREFIX}{number:08d}"


def _value(text: Any) -> str:
    flat = str(text).replace(QUOTE, "\ufffd").replace(SEPARATOR, "\ufffd")
    return (
        QUOTE + flat.replace("\r\n", NEWLINE).replace("\n", NEWLINE).replace("\r", NEWLINE) + QUOTE
    )


def dat_line(values: Iterable[Any]) -> str:
    return SEPARATOR.join(_value(v) for v in values) + "\r\n"


def parse_dat(data: bytes) -> list[dict[str, str]]:
    """The DAT read back (what a review platform does): a dict of fields per document."""
    text = data.decode("utf-8-sig")
    lines = [line for line in text.split("\r\n") if line]
    rows = [
        [
            v.removeprefix(QUOTE).removesuffix(QUOTE).replace(NEWLINE, "\n")
            for v in line.split(SEPARATOR)
        ]
        for line in lines
    ]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


class DatFormat(ExportFormat):
    name = "dat"
    appended = (FILE,)
    numbers_across_steps = True

    def __init__(self, *, include_attachments: bool = False) -> None:
        self.include_attachments = include_attachments
        self.numbered = 0

    def head(self) -> ChunkOutput:
        return ChunkOutput(appends={FILE: ("\ufeff" + dat_line(FIELDS)).encode()})

    def begin(self, counts: dict[str, int]) -> None:
        # Documents are numbered on from the steps committed before: a redone step numbers
        # its messages as the first attempt did.
        self.numbered = int(counts.get("dat.documents", 0))

    def chunk(self, records: list[ExportedRecord], lookups: ArchiveLookups) -> ChunkOutput:
        created = [r for r in records if r.row.type == MESSAGE_NEW and r.row.message_id]
        histories = lookups.histories(created)
        lines, natives = [], {}
        for number, record in enumerate(created, self.numbered + 1):
            cid, mid = record.row.conversation_id, int(record.row.message_id or 0)
            history = histories[mid]
            control = control_number(number)
            recipients = lookups.usernames(cid, record.audience)
            natives[f"natives/{control}.eml"] = message_eml(
                history,
                recipients=recipients,
                conversation=lookups.conversation_name(cid),
                include_attachments=self.include_attachments,
                context=record.context,
            )
            lines.append(dat_line(self._fields(record, history, control, recipients, lookups)))
        return ChunkOutput(
            appends={FILE: "".join(lines).encode()},
            files=natives,
            counts={"documents": len(lines)},
        )

    def _fields(
        self,
        record: ExportedRecord,
        history: list[Any],
        control: str,
        recipients: list[str],
        lookups: ArchiveLookups,
    ) -> list[Any]:
        latest = [e for e in history if e.type in (MESSAGE_NEW, MESSAGE_EDITED)][-1]
        message = latest.message
        author = message.get("author") or {}
        attachments = message.get("attachments") or []
        cid = record.row.conversation_id
        kinds = {e.type for e in history}
        return [
            control,
            control,
            record.row.message_id,
            cid,
            lookups.conversation_name(cid),
            author.get("username") or f"user-{author.get('id')}",
            "; ".join(recipients),
            record.row.occurred_at.isoformat().replace("+00:00", "Z"),
            message.get("body", ""),
            message.get("parent") or "",
            "Y" if MESSAGE_EDITED in kinds else "N",
            "Y" if MESSAGE_DELETED in kinds else "N",
            "Y" if record.context else "N",
            "; ".join(str(a.get("filename", "")) for a in attachments),
            "; ".join(str(a.get("sha256", "")) for a in attachments),
            ", ".join(str(e.seq) for e in history),
            f"natives\\{control}.eml",
        ]
