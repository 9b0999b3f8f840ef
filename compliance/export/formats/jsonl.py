"""JSON Lines, lossless: one line per archive record in scope, as the archive hashed it.

Each line is `{"schema": "eim-export/v1", "seq", "hash", "prev_hash", "record": {...}}` (and
`"context": true` for a record of a message exported as context around a hit), where
`record` is the record's canonical content parsed: serialised again as canonical JSON (keys
sorted, no whitespace, UTF-8) it gives the exact bytes that were hashed, so
`SHA-256(bytes.fromhex(prev_hash) || canonical(record)) == hash`. docs/export.md has the schema.
"""

from .base import ArchiveLookups, ChunkOutput, ExportedRecord, ExportFormat

SCHEMA = "eim-export/v1"
FILE = "records.jsonl"


def record_line(record: ExportedRecord) -> str:
    """The line as canonical JSON (keys sorted): the record's canonical bytes are spliced in
    as they were hashed, without parsing and serialising them again."""
    row = record.row
    context = '"context":true,' if record.context else ""
    return (
        f'{{{context}"hash":"{row.hash}","prev_hash":"{row.prev_hash}","record":{row.canonical},'
        f'"schema":"{SCHEMA}","seq":{row.seq}}}\n'
    )


class JsonLinesFormat(ExportFormat):
    appended = (FILE,)
    name = "jsonl"

    def chunk(self, records: list[ExportedRecord], lookups: ArchiveLookups) -> ChunkOutput:
        listed = [r for r in records if r.listed]
        text = "".join(record_line(r) for r in listed)
        return ChunkOutput(appends={FILE: text.encode()}, counts={"records": len(listed)})
