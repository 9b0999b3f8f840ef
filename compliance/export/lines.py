"""A JSON Lines-only step's lines, written by PostgreSQL: one COPY of the step's records query
gives each listed record's line byte for byte as `formats/jsonl.py::record_line` writes it,
and the seq and hash its proof needs are read back from that line, so that a line and its
proof always come from the same statement (a row changed between two statements can never
be proven for other bytes than the line).

The COPY is CSV with \\x01 as its quote and \\x02 as its delimiter, so that nothing is quoted
or escaped and each row is the line and "\\n": a field is quoted only when it holds the quote,
the delimiter, "\\r" or "\\n" (or is empty or `\\.`, which a line never is), and the
archive's canonical JSON (`ledger.canonical.canonical_json`: `json.dumps`, which writes every
character below U+0020 as an escape whatever `ensure_ascii`) never holds one of them raw; the
hashes are hex and the seq digits. A record whose stored canonical text does hold one
(written by hand, not by the archive) makes its field quoted, and so \\x01 appears in the
output: the step is then read the usual way (`copied_records` answers None), whose line
splices the text as it is.

Python reads about 1 KB a record as bytes and slices two fixed places of each line: no text
decoding, no row tuples, no timestamps (the steps' CPU at 100,000 messages: 0.017 -> 0.012 ms
a record; most of what is left is the inclusion proofs).
"""

from typing import Any, NamedTuple

from django.db import connection

from archive.models import ArchiveRecord

from .formats.jsonl import SCHEMA

#: The line of `r` (seq, hash, prev_hash, canonical) when {listed}, with the context mark when
#: {context}; its seq alone otherwise (read for the cursor, not written).
LINE = """CASE WHEN {listed} THEN '{{' || CASE WHEN {context} THEN '"context":true,' ELSE '' END
 || '"hash":"' || r.hash || '","prev_hash":"' || r.prev_hash || '","record":' || r.canonical
 || ',"schema":"{schema}","seq":' || r.seq || '}}' ELSE r.seq::text END"""
COPY = "COPY (SELECT {line} FROM {source} ORDER BY r.seq) TO STDOUT (FORMAT csv, {quoting})"
QUOTING = "DELIMITER E'\\x02', QUOTE E'\\x01'"
HASH = b'"hash":"'
SEQ = b'"seq":'


class CopiedRecord(NamedTuple):
    """A record of the step as the COPY wrote it: its seq, and when it is listed its hash
    (read from the line) and its line; "" and b"" when it is not."""

    seq: int
    hash: str
    line: bytes


def copied_records(
    *, source: str, params: Any, listed: str = "true", context: str = "false"
) -> list[CopiedRecord] | None:
    """The records of `source` (a FROM clause naming the archive's records `r`), in seq order,
    their lines written by PostgreSQL; None when a field came out quoted (see above)."""
    line = LINE.format(listed=listed, context=context, schema=SCHEMA)
    statement = COPY.format(line=line, source=source, quoting=QUOTING)
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        data = b"".join(copy)
    if b"\x01" in data:
        return None
    return [_copied(line) for line in data.splitlines(keepends=True)]


def _copied(line: bytes) -> CopiedRecord:
    if not line.startswith(b"{"):
        return CopiedRecord(int(line), "", b"")
    start = line.index(HASH) + len(HASH)
    hash_ = line[start : line.index(b'"', start)].decode()
    seq = int(line[line.rindex(SEQ) + len(SEQ) : -2])
    return CopiedRecord(seq, hash_, line)


PREV_HASH = b'"prev_hash":"'
RECORD = b'","record":'
AFTER_RECORD = f',"schema":"{SCHEMA}","seq":'.encode()


def line_content(line: bytes) -> tuple[str, bytes]:
    """A listed record's prev_hash and its canonical text's bytes, read back from its line
    (the text sits between `","record":` and the fixed tail `,"schema":…,"seq":N}`)."""
    start = line.index(PREV_HASH) + len(PREV_HASH)
    prev_hash = line[start : line.index(b'"', start)].decode()
    canonical = line[line.index(RECORD) + len(RECORD) : line.rindex(AFTER_RECORD)]
    return prev_hash, canonical


def archive_table() -> str:
    return connection.ops.quote_name(ArchiveRecord._meta.db_table)
