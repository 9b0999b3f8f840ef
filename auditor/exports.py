"""The auditor's exports of a filtered view: CSV for a spreadsheet, JSON Lines lossless (each
event's canonical bytes, prev_hash and hash, so its place in the chain can be checked)."""

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async

from audit.models import AuditEvent
from audit.selectors import EventFilter, audit_events_in_chunks

CSV_COLUMNS = ["seq", "created_at", "type", "actor_id", "actor_username", "details", "hash"]


def _csv_rows(events: list[AuditEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for e in events:
        details = json.dumps(e.details, sort_keys=True, ensure_ascii=False)
        # A cell a spreadsheet would run as a formula is quoted as text.
        cells = [e.seq, e.created_at.isoformat(), e.event_type, e.actor_id or "", e.actor_username]
        writer.writerow([*(_inert(c) for c in cells), _inert(details), e.hash])
    return out.getvalue().encode()


def _inert(cell: object) -> object:
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def _jsonl_rows(events: list[AuditEvent]) -> bytes:
    lines = (
        json.dumps(
            {
                "seq": e.seq,
                "type": e.event_type,
                "actor": e.actor_id,
                "actor_username": e.actor_username,
                "details": e.details,
                "created_at": e.created_at.isoformat(),
                "prev_hash": e.prev_hash,
                "hash": e.hash,
                "canonical": e.canonical,
            },
            ensure_ascii=False,
        )
        + "\n"
        for e in events
    )
    return "".join(lines).encode()


def export_chunks(*, filters: EventFilter, up_to_seq: int, fmt: str) -> Iterator[bytes]:
    render = _csv_rows if fmt == "csv" else _jsonl_rows
    if fmt == "csv":
        yield (",".join(CSV_COLUMNS) + "\r\n").encode()
    for events in audit_events_in_chunks(filters=filters, up_to_seq=up_to_seq):
        yield render(events)


async def export_chunks_async(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The same chunks for an ASGI server, one database query per chunk on the sync thread
    (Django would otherwise read a synchronous stream whole before sending it)."""
    while True:
        part = await sync_to_async(_next_or_none)(chunks)
        if part is None:
            return
        yield part


def _next_or_none(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)
