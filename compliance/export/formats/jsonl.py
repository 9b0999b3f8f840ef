"""JSON Lines, lossless: one line per archive record in scope, as the archive hashed it.

Each line is `{"schema": "eim-export/v1", "seq", "hash", "prev_hash", "record": {...}}` (and
`"context": true` for a record of a message exported as context around a hit), where
`record` is the record's canonical content parsed: serialised again as canonical JSON (keys
sorted, no whitespace, UTF-8) it gives the exact bytes that were hashed, so
`SHA-256(bytes.fromhex(prev_hash) || canonical(record)) == hash`. docs/export.md has the schema.
"""

from archive.selectors import RecordRow

from .base import ArchiveLookups, ChunkOutput, ExportedRecord, ExportFormat

SCHEMA = "eim-export/v1"
FILE = "records.jsonl"


def record_line(row: RecordRow, context: bool) -> bytes:
    """The line as canonical JSON (keys sorted): the record's canonical bytes are spliced in
    as they were hashed, without parsing and serialising them again."""
    return LINE % (
        CONTEXT if context else b"",
        row.hash.encode(),
        row.prev_hash.encode(),
        row.canonical,
        row.seq,
    )


LINE = (
    b'{%b"hash":"%b","prev_hash":"%b","record":%b,"schema":"' + SCHEMA.encode() + b'","seq":%d}\n'
)
CONTEXT = b'"context":true,'


class JsonLinesFormat(ExportFormat):
    appended = (FILE,)
    name = "jsonl"

    def chunk(self, records: list[ExportedRecord], lookups: ArchiveLookups) -> ChunkOutput:
        lines = [record_line(r.row, r.context) for r in records if r.listed]
        return ChunkOutput(appends={FILE: b"".join(lines)}, counts={"records": len(lines)})
