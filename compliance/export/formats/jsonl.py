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


def record_line(row: RecordRow, context: bool) -> str:
    """The line as canonical JSON (keys sorted): the record's canonical bytes are spliced in
    as they were hashed, without parsing and serialising them again."""
    mark = '"context":true,' if context else ""
    return (
        f'{{{mark}"hash":"{row.hash}","prev_hash":"{row.prev_hash}","record":{row.canonical},'
        f'"schema":"{SCHEMA}","seq":{row.seq}}}\n'
    )


class JsonLinesFormat(ExportFormat):
    appended = (FILE,)
    name = "jsonl"

    def chunk(self, records: list[ExportedRecord], lookups: ArchiveLookups) -> ChunkOutput:
        lines = [record_line(r.row, r.context) for r in records if r.listed]
        return ChunkOutput(appends={FILE: "".join(lines).encode()}, counts={"records": len(lines)})
