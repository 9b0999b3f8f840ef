"""The exact bytes of EML, RSMF and DAT files and of a step's stored zip (session 9), and of
the CSV and JSON Lines (session 12), pinned against golden files written by the code before
their speed-ups: a rewrite of how a file is built must not move a byte. The records are
built here (no database): threads, edits, a deletion, reactions added and removed,
attachments included and not, non-ASCII and quoted names, long and empty bodies, context, a
direct conversation, joins, leaves, a channel made private and more events in a day than a
file holds.

To write the golden files again (only for a change of the output that is meant and said):
`EIM_GOLDEN_WRITE=1 .venv/bin/pytest tests/compliance/export/test_golden_bytes.py`.
"""

import email
import email.policy
import hashlib
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from archive.blobs import blob_store
from archive.selectors import ArchivedEvent, RecordRow, archived_event_of
from compliance.export import files
from compliance.export.formats import dat, rsmf
from compliance.export.formats.base import ArchiveLookups, ExportedRecord
from compliance.export.formats.dat import DatFormat
from compliance.export.formats.eml import EmlFormat
from compliance.export.formats.jsonl import JsonLinesFormat
from compliance.export.formats.rsmf import RsmfFormat
from compliance.export.formats.spreadsheet import CsvFormat

GOLDEN = Path(__file__).parent / "golden"
START = datetime(2026, 3, 9, 23, 58, 30, 123456, tzinfo=UTC)
ANN = {"id": 11, "username": "ann.lee", "name": 'Ann "the desk" Lee, CFA'}
BO = {"id": 12, "username": "bo", "name": "Bø Ærøskøbing"}
CY = {"id": 13, "username": "cy+ops", "name": "cy+ops"}
NAMES = {11: "ann.lee", 12: "bo", 13: "cy+ops", 14: "dee"}
LONG = ("quarterly numbers — ACME 4.2% guidance, 株式 取引 ", "line\nbreaks\r\nand <b>html</b> & ")
FILE_BYTES = b"quarterly numbers\n" * 40
PRESENT = hashlib.sha256(FILE_BYTES).hexdigest()
ABSENT = "ab" * 32


class _Lookups(ArchiveLookups):
    """The archive's names and each message's later records, from memory."""

    def __init__(self, later: dict[int, list[ArchivedEvent]], names: dict[int, str]) -> None:
        super().__init__(tree_size=10**6)
        self.later, self.names = later, names

    def conversation_name(self, conversation_id: int) -> str:
        return self.names[conversation_id]

    def usernames(self, conversation_id: int, user_ids: Any) -> list[str]:
        return [NAMES.get(i, f"user-{i}") for i in user_ids]

    def histories(self, created: Any, *, reactions: bool = False) -> dict[int, list[ArchivedEvent]]:
        kept = {}
        for record in created:
            mid = int(record.row.message_id)
            events = [
                e for e in self.later.get(mid, ()) if reactions or not e.type.startswith("react")
            ]
            kept[mid] = [archived_event_of(record.row, record.content), *events]
        return kept


class _Archive:
    """Records of a few conversations, numbered as the archive numbers them."""

    def __init__(self) -> None:
        self.seq = 0
        self.records: list[ExportedRecord] = []
        self.later: dict[int, list[ArchivedEvent]] = {}

    def add(
        self,
        kind: str,
        cid: int,
        minutes: float,
        payload: dict[str, Any],
        *,
        mid: int | None = None,
        actor: int = 11,
        audience: tuple[int, ...] = (11, 12, 13),
        context: bool = False,
    ) -> None:
        self.seq += 1
        if kind == "message.new":
            mid = int(payload["message"]["id"])
        at = START + timedelta(minutes=minutes)
        content = {"actor": actor, "audience": list(audience), "conversation": cid}
        content.update(conversation_seq=self.seq, message_id=mid, payload=payload, type=kind)
        canonical = json.dumps(content, ensure_ascii=False, sort_keys=True)
        row = RecordRow(self.seq, kind, cid, mid, at, canonical.encode(), "00" * 32, "11" * 32)
        if kind == "message.new" or mid is None:
            self.records.append(ExportedRecord.of(row, context=context))
        else:
            event = archived_event_of(row, json.loads(canonical))
            self.later.setdefault(mid, []).append(event)
            self.records.append(ExportedRecord.of(row))


def _message(mid: int, author: dict[str, Any], body: str, **fields: Any) -> dict[str, Any]:
    message = {"id": mid, "author": author, "body": body, "attachments": [], "parent": None}
    return {"message": {**message, **fields}}


def _archive() -> _Archive:
    archive = _Archive()
    joined = {"user": {**CY, "name": "Cy Ops"}}
    archive.add("member.joined", 1, -5, joined, actor=13)
    archive.add("message.new", 1, 0, _message(101, ANN, LONG[0] * 3))
    archive.add("message.new", 1, 0.5, _message(102, BO, "ok", parent=101), audience=())
    archive.add("message.edited", 1, 0.7, _message(101, ANN, LONG[1] * 2), mid=101)
    archive.add("reaction.added", 1, 0.8, {"emoji": "👍", "user": BO}, mid=101, actor=12)
    archive.add("reaction.added", 1, 0.9, {"emoji": "👍", "user": CY}, mid=101, actor=13)
    archive.add("reaction.removed", 1, 1.0, {"emoji": "👍", "user": BO}, mid=101, actor=12)
    archive.add("reaction.added", 1, 1.1, {"emoji": ":-)", "user": ANN}, mid=102)
    attachments = [
        {"sha256": PRESENT, "filename": "numbers, final.txt", "content_type": "text/plain"},
        {"sha256": ABSENT, "filename": "Übersicht 株式.pdf", "size": 12},
        {"sha256": PRESENT, "filename": 'say "hi"'},
    ]
    archive.add("message.new", 1, 2, _message(103, CY, "", attachments=attachments), actor=13)
    archive.add("message.new", 1, 3, _message(104, {"id": 14}, "the tip", parent=99), actor=14)
    archive.add("message.deleted", 1, 3.5, _message(104, {"id": 14}, "the tip"), mid=104)
    archive.add("conversation.updated", 1, 4, {"visibility": {"from": "public", "to": "private"}})
    archive.add("message.new", 1, 4.5, _message(105, BO, "context " * 30), context=True)
    archive.add("member.left", 1, 5, {"user": BO}, actor=12)
    for n in range(7):  # the next day: more events than a file of the day holds
        archive.add("message.new", 1, 60 * 24 + n, _message(110 + n, ANN, f"day two {n}"))
    archive.add("message.new", 2, 6, _message(201, BO, "lunch?"), audience=(12, 14))
    return archive


def _eml_files(fmt: EmlFormat | DatFormat, archive: _Archive) -> dict[str, bytes]:
    lookups = _Lookups(archive.later, {1: "trading-désk", 2: ""})
    created = sorted(archive.records, key=lambda r: r.row.seq)
    output = fmt.chunk(created, lookups)
    return {**output.files, **{name: data for name, data in output.appends.items()}}


def _rsmf_files(archive: _Archive) -> dict[str, bytes]:
    lookups = _Lookups(archive.later, {1: "trading-désk", 2: ""})

    def read(conversation_id: int, after: int, limit: int) -> list[ExportedRecord]:
        rows = [r for r in archive.records if r.row.conversation_id == conversation_id]
        return [r for r in rows if r.row.seq > after][:limit]

    made = RsmfFormat(include_attachments=True).finish_files(
        conversation_ids=[1, 2], read=read, lookups=lookups
    )
    return {path: data for path, data, _ in made}


def _outputs() -> dict[str, bytes]:
    archive = _archive()
    made = {
        **{
            f"attached/{p}": d
            for p, d in _eml_files(EmlFormat(include_attachments=True), archive).items()
        },
        **{f"plain/{p}": d for p, d in _eml_files(EmlFormat(), archive).items()},
        **{f"dat/{p}": d for p, d in _eml_files(DatFormat(), archive).items()},
        **_rsmf_files(archive),
    }
    made["bundle/files.zip"] = files.bundle_bytes({k: v for k, v in made.items()})
    made["bundle/files.jsonl"] = files.bundle_index({k: v for k, v in made.items()})
    made.update(_appended_files(archive))
    return made


def _appended_files(archive: _Archive) -> dict[str, bytes]:
    """The CSV and the JSON Lines, their records in two chunks (as two steps write them)."""
    made = {}
    for fmt in (CsvFormat(), JsonLinesFormat()):
        lookups = _Lookups(archive.later, {1: 'desk, "rates"', 2: ""})
        chunks = [fmt.head(), *(fmt.chunk(c, lookups) for c in _halves(archive.records))]
        for path in fmt.appended:
            made[f"{fmt.name}/{path}"] = b"".join(c.appends.get(path, b"") for c in chunks)
    return made


def _halves(records: list[ExportedRecord]) -> list[list[ExportedRecord]]:
    half = len(records) // 2
    return [records[:half], records[half:]]


@pytest.fixture
def outputs(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    monkeypatch.setattr(rsmf, "MAX_EVENTS", 3)
    blob_store().put(PRESENT, io.BytesIO(FILE_BYTES))
    made = _outputs()
    if os.environ.get("EIM_GOLDEN_WRITE"):
        for path, data in made.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_bytes(data)
    return made


def test_every_file_is_byte_identical_to_its_golden_file(outputs: dict[str, bytes]) -> None:
    golden = {str(p.relative_to(GOLDEN)): p.read_bytes() for p in GOLDEN.rglob("*") if p.is_file()}
    assert sorted(outputs) == sorted(golden)
    for path, data in outputs.items():
        assert data == golden[path], path


def test_the_golden_files_cover_what_they_should(outputs: dict[str, bytes]) -> None:
    paths = set(outputs)
    assert {"rsmf/1/2026-03-09.rsmf", "rsmf/1/2026-03-10-2.rsmf", "rsmf/2/2026-03-10.rsmf"} <= paths
    assert "dat/" + dat.FILE in paths
    sheet = outputs["csv/messages.csv"].decode()
    for quoted in ('"desk, ""rates"""', '"Ann ""the desk"" Lee, CFA"', "\r\nand <b>html</b>"):
        assert quoted in sheet
    for version in (",original,", ",edit,", ",deletion,", ",true\r\n"):  # the last: context
        assert version in sheet
    assert b"X-EIM-SHA256: " + PRESENT.encode() in outputs["attached/eml/1/103.eml"]


def test_every_golden_message_parses_without_defects(outputs: dict[str, bytes]) -> None:
    messages = [d for p, d in outputs.items() if p.endswith((".eml", ".rsmf"))]
    assert len(messages) == 46
    for data in messages:
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert not parsed.defects
        assert all(not part.defects for part in parsed.walk())
