"""Each format read back: JSON Lines equals the archive, CSV re-reads row for row, every EML
parses with Python's email package without defects."""

import csv
import email
import email.policy
import io
import json
from pathlib import Path

import pytest

from archive.models import ArchiveRecord
from compliance.export import services

from .conftest import World, run_to_end, unpacked

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(world: World, officer, tmp_path: Path) -> Path:
    job = services.export_create(
        user=officer,
        conversation_ids=[world.channel.pk],
        formats=["jsonl", "csv", "eml"],
        include_attachments=True,
    )
    job = run_to_end(job)
    assert job.state == "done", job.error
    return unpacked(job, tmp_path / "received")


def test_json_lines_hold_every_record_of_the_conversation_exactly_as_archived(folder, world):
    lines = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    archived = ArchiveRecord.objects.filter(conversation_id=world.channel.pk).order_by("seq")

    assert [(r["seq"], r["hash"], r["prev_hash"]) for r in lines] == [
        (a.seq, a.hash, a.prev_hash) for a in archived
    ]
    assert [r["record"] for r in lines] == [json.loads(a.canonical) for a in archived]
    assert {r["schema"] for r in lines} == {"eim-export/v1"}
    assert {
        "message.new",
        "message.edited",
        "message.deleted",
        "reaction.added",
        "attachment.added",
        "member.joined",
        "conversation.created",
    } <= {r["record"]["type"] for r in lines}


def test_the_other_conversation_is_not_exported(folder, world):
    text = (folder / "records.jsonl").read_text()

    assert "lunch at noon" not in text
    assert not (folder / "eml" / str(world.direct.pk)).exists()


def test_csv_has_a_bom_and_one_row_per_version(folder, world):
    data = (folder / "messages.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data

    rows = list(csv.DictReader(io.StringIO(data[3:].decode())))

    edited = [r for r in rows if r["message_id"] == str(world.edited.pk)]
    assert [(r["version"], r["text"], r["is_edit"]) for r in edited] == [
        ("original", "buy 100 shares of ACME before the announcement", "false"),
        ("edit", "buy 100 shares of ACME, as agreed", "true"),
    ]
    deleted = [r for r in rows if r["message_id"] == str(world.deleted.pk)]
    assert [(r["version"], r["is_deleted"]) for r in deleted] == [
        ("original", "false"),
        ("deletion", "true"),
    ]
    assert deleted[0]["text"] == "delete this: the insider tip, ok?"
    reply = next(r for r in rows if r["message_id"] == str(world.reply.pk))
    assert reply["text"] == "株式 取引 — understood, 👍"
    assert reply["thread_parent_id"] == str(world.edited.pk)
    assert reply["recipients"] == "alice; bob"
    assert reply["occurred_at_utc"].endswith("Z")
    filed = next(r for r in rows if r["message_id"] == str(world.with_file.pk))
    assert filed["attachment_names"] == 'numbers, "final".txt'
    assert len(filed["attachment_sha256"]) == 64


def _parsed(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_every_eml_parses_without_defects(folder, world):
    emls = sorted((folder / "eml").rglob("*.eml"))
    assert len(emls) == 4

    for path in emls:
        message = _parsed(path)
        defects = list(message.defects) + [d for part in message.walk() for d in part.defects]
        assert defects == [], (path, defects)
        assert message["Message-ID"]
        assert message["Date"]
        assert message["From"]


def test_an_eml_carries_the_message_its_versions_and_its_thread(folder, world):
    edited = _parsed(folder / "eml" / str(world.channel.pk) / f"{world.edited.pk}.eml")
    reply = _parsed(folder / "eml" / str(world.channel.pk) / f"{world.reply.pk}.eml")
    deleted = _parsed(folder / "eml" / str(world.channel.pk) / f"{world.deleted.pk}.eml")

    text = edited.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("buy 100 shares of ACME, as agreed")
    assert "before the announcement" in text
    assert edited["X-EIM-Edited"] == "yes"
    assert edited["X-EIM-Versions"] == "2"
    assert "alice@eim.invalid" in edited["From"]
    assert "bob@eim.invalid" in edited["To"]
    assert reply["In-Reply-To"] == f"<message-{world.edited.pk}@eim.invalid>"
    assert "株式 取引" in reply.get_body(preferencelist=("plain",)).get_content()
    assert "株式" in str(reply["Subject"])
    assert deleted["X-EIM-Deleted"] == "yes"
    assert "the insider tip" in deleted.get_body(preferencelist=("html",)).get_content()


def test_an_included_attachment_is_a_mime_part_and_a_file(folder, world):
    message = _parsed(folder / "eml" / str(world.channel.pk) / f"{world.with_file.pk}.eml")

    parts = list(message.iter_attachments())

    assert [p.get_filename() for p in parts] == ['numbers, "final".txt']
    assert parts[0].get_content() in ("quarterly numbers\n", b"quarterly numbers\n")
    sha = parts[0]["X-EIM-SHA256"]
    assert (folder / "attachments" / sha).read_bytes() == b"quarterly numbers\n"
