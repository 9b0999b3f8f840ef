"""A scope of whole conversations is read straight from the archive (no ExportRecord or
ExportMessage rows): every file, the manifest, the proofs and the counts are those of the
same scope frozen as rows, byte for byte, with or without a date range or "latest version"."""

import json
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Max
from django.test import override_settings

from accounts.models import User
from archive import conversation_scope
from archive.conversation_scope import ConversationScope
from archive.models import ArchiveRecord
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from compliance.export import runner, services
from compliance.export.models import ExportJob, ExportMessage, ExportRecord
from eim.chat.models import Conversation, ConversationEvent, Message
from eim.chat.services.conversations import membership_invite
from eim.chat.services.messages import message_delete, message_edit, reaction_add
from tests.factories import ChannelFactory, send

from .conftest import World, unpacked
from .test_resume import contents

pytestmark = pytest.mark.django_db

EVERY_FORMAT = ["jsonl", "csv", "eml", "rsmf", "pdf", "dat"]
#: Differ between two exports of the same scope: their ids and times.
OWN_FIELDS = {"export_id", "created_at", "completed_at"}


def _finished(job: ExportJob) -> ExportJob:
    services.export_sign(job_id=str(job.pk))
    services.export_package(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.state == "done", job.error
    return job


def _export_both_ways(officer: User, asked: dict[str, Any]) -> tuple[ExportJob, ExportJob]:
    """The same request run with its scope frozen as rows, then read from the archive."""
    with override_settings(EIM_EXPORT_CONVERSATION_SCOPES=False):
        frozen = services.export_create(user=officer, **asked)
        runner.export_run(job_id=str(frozen.pk))
    frozen.refresh_from_db()
    assert not frozen.by_conversation
    assert ExportRecord.objects.filter(job=frozen).count() == frozen.total > 0
    direct = services.export_create(user=officer, **asked)
    runner.export_run(job_id=str(direct.pk))
    direct.refresh_from_db()
    assert direct.by_conversation
    assert not ExportRecord.objects.filter(job=direct).exists()
    assert not ExportMessage.objects.filter(job=direct).exists()
    return _finished(frozen), _finished(direct)


def _manifest(folder: Path) -> dict[str, Any]:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "README.txt"]
    return {k: v for k, v in manifest.items() if k not in OWN_FIELDS}


def _pdf_text(path: Path, job: ExportJob) -> str:
    """A transcript's text, its export's id (in every page's footer) aside."""
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout.replace(str(job.pk), "<export>")


def _assert_same_export(frozen: ExportJob, direct: ExportJob, tmp_path: Path) -> Path:
    first, second = unpacked(frozen, tmp_path / "frozen"), unpacked(direct, tmp_path / "direct")
    files, others = contents(first), contents(second)
    assert files.keys() == others.keys()
    # Every file but the manifest and its signature; a transcript's pages name their export.
    assert {p: b for p, b in files.items() if not p.startswith("pdf/")} == {
        p: b for p, b in others.items() if not p.startswith("pdf/")
    }
    transcripts = sorted(p for p in files if p.startswith("pdf/"))
    assert transcripts
    for path in transcripts:
        assert _pdf_text(first / path, frozen) == _pdf_text(second / path, direct)
    manifest, other = _manifest(first), _manifest(second)
    assert [f for f in manifest.pop("files") if not f["path"].startswith("pdf/")] == [
        f for f in other.pop("files") if not f["path"].startswith("pdf/")
    ]
    assert manifest == other
    assert (direct.total, direct.done, direct.counts) == (frozen.total, frozen.done, frozen.counts)
    assert direct.parts == frozen.parts > 2
    return second


def test_whole_conversations_read_from_the_archive_export_the_same_bytes(
    world: World, officer: User, tmp_path: Path
):
    asked = {
        "conversation_ids": [world.channel.pk, world.direct.pk],
        "formats": EVERY_FORMAT,
        "include_attachments": True,
    }
    frozen, direct = _export_both_ways(officer, asked)

    folder = _assert_same_export(frozen, direct, tmp_path)
    assert "lunch at noon" in (folder / "records.jsonl").read_text()
    assert direct.counts["messages"] == 5


def test_only_the_latest_versions_read_from_the_archive_export_the_same_bytes(
    world: World, officer: User, tmp_path: Path
):
    asked = {"conversation_ids": [world.channel.pk], "formats": EVERY_FORMAT, "versions": "latest"}
    frozen, direct = _export_both_ways(officer, asked)

    folder = _assert_same_export(frozen, direct, tmp_path)
    text = (folder / "records.jsonl").read_text()
    assert "as agreed" in text
    assert "before the announcement" not in text  # the version the edit replaced


# ----- a date range: a message's records go with it when its creation is in the range


def _archived_on(day: date, hour: int) -> None:
    """Archive what is pending as if it had happened on `day` at `hour` (UTC)."""
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    ConversationEvent.objects.filter(archived_seq__isnull=True).update(occurred_at=moment)
    archive_pending()


DAY = date(2024, 3, 2)


@pytest.fixture
def dated(alice: User, bob: User, carol: User) -> dict[str, Any]:
    """Two channels written in turns over three days: day-before messages edited and reacted
    to on the day, the day's messages edited and deleted the day after, someone joining then."""
    before, after = DAY - timedelta(days=1), DAY + timedelta(days=1)
    desk = ChannelFactory(creator=alice, name="desk", members=[bob])
    floor = ChannelFactory(creator=bob, name="floor", members=[alice])
    _archived_on(before, 8)
    old = {c.pk: send(alice, c, f"day before in {c.name}") for c in (desk, floor)}
    _archived_on(before, 9)
    for conversation in (desk, floor):
        message_edit(user=alice, message_id=old[conversation.pk].pk, body="edited on the day")
        reaction_add(user=bob, message_id=old[conversation.pk].pk, emoji="👍")
    _archived_on(DAY, 9)
    today = {c.pk: send(bob, c, f"on the day in {c.name}") for c in (desk, floor)}
    also = send(alice, desk, "also on the day")
    _archived_on(DAY, 10)
    message_edit(user=bob, message_id=today[desk.pk].pk, body="edited the day after")
    message_delete(user=bob, message_id=today[floor.pk].pk)
    membership_invite(actor=alice, conversation_id=desk.pk, user_ids=[carol.pk])
    late = send(carol, desk, "the day after")
    _archived_on(after, 9)
    checkpoint_create()
    return {"channels": [desk, floor], "old": old, "today": today, "also": also, "late": late}


def _message_ids(folder: Path) -> set[int]:
    lines = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    return {line["record"]["message_id"] for line in lines} - {None}


@pytest.mark.parametrize("versions", ["all", "latest"])
def test_a_date_range_read_from_the_archive_exports_the_same_bytes(
    dated: dict[str, Any], officer: User, tmp_path: Path, versions: str
):
    channels: list[Conversation] = dated["channels"]
    asked = {
        "conversation_ids": [c.pk for c in channels],
        "formats": EVERY_FORMAT,
        "since": DAY.isoformat(),
        "until": DAY.isoformat(),
        "versions": versions,
    }
    frozen, direct = _export_both_ways(officer, asked)

    folder = _assert_same_export(frozen, direct, tmp_path)
    today: dict[int, Message] = dated["today"]
    assert _message_ids(folder) == {*(m.pk for m in today.values()), dated["also"].pk}
    text = (folder / "records.jsonl").read_text()
    assert "edited the day after" in text  # a later record of a message written on the day
    assert '"type":"member.joined"' in text  # the conversations' own records, whatever the day


@pytest.mark.parametrize("latest_only", [False, True], ids=["every-version", "latest-only"])
def test_a_window_read_along_the_primary_key_holds_the_same_records(
    alice: User, bob: User, latest_only: bool
):
    """A dense window is read with the conversations matched as `conversation_id + 0` (no
    index, so along the primary key): the same records, marks and order as by the index."""
    kept = [ChannelFactory(creator=alice, name=f"kept-{n}", members=[bob]) for n in range(2)]
    other = ChannelFactory(creator=bob, name="other", members=[alice])
    for n in range(12):
        sent = send(alice, kept[n % 2], f"note {n}")
        send(bob, other, f"elsewhere {n}")
        if n % 3 == 0:
            message_edit(user=alice, message_id=sent.pk, body=f"note {n}, edited")
    archive_pending()
    scope = ConversationScope(
        conversation_ids=tuple(c.pk for c in kept),
        up_to_seq=int(ArchiveRecord.objects.aggregate(Max("seq"))["seq__max"]),
        latest_only=latest_only,
    )
    columns = ["seq", "conversation_id", *(["superseded"] if latest_only else [])]

    def read(along_seq: bool, low: int, high: int, count: int) -> list[tuple[Any, ...]]:
        records = conversation_scope._listed(
            scope, conversation_scope._records(scope, along_seq=along_seq)
        )
        window = records.filter(seq__gt=low, seq__lte=high).order_by("seq")
        return list(window.values_list(*columns)[:count])

    for low, high, count in [(0, scope.up_to_seq, 1000), (5, 30, 4), (10, 60, 1000)]:
        by_index = read(False, low, high, count)
        assert read(True, low, high, count) == by_index
        assert {c for _, c, *_ in by_index} <= {c.pk for c in kept}
    assert len(read(True, 0, scope.up_to_seq, 1000)) >= 12 + 4  # the messages and edits
    assert "+ 0" in str(conversation_scope._records(scope, along_seq=True).query)
