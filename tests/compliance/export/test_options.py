"""Export options: only the latest version of each message, and the conversation around each
hit as context (N messages, or a time window), in every format, and still verified."""

import csv
import email
import email.policy
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from archive.models import ArchiveRecord
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from audit.models import AuditEvent
from compliance.errors import ComplianceError
from compliance.export import services
from compliance.export.models import ExportJob
from compliance.export.scope import _around_count, _around_time
from eim.chat.models import ConversationEvent
from tests.factories import ChannelFactory, send

from .conftest import World, public_key_file, run_to_end, unpacked
from .test_verifier import verify

pytestmark = pytest.mark.django_db

EVERY_FORMAT = ["jsonl", "csv", "eml", "rsmf", "pdf", "dat"]


def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]


def test_latest_only_exports_no_superseded_version_and_still_verifies(
    world: World, officer, tmp_path: Path
):
    job = run_to_end(
        services.export_create(
            user=officer,
            conversation_ids=[world.channel.pk],
            formats=EVERY_FORMAT,
            versions="latest",
        )
    )
    folder = unpacked(job, tmp_path / "got")
    lines = _records(folder)
    edited = [r for r in lines if r["record"].get("message_id") == world.edited.pk]
    rows = list(csv.DictReader(io.StringIO((folder / "messages.csv").read_text("utf-8-sig"))))
    eml = email.message_from_bytes(
        (folder / "eml" / str(world.channel.pk) / f"{world.edited.pk}.eml").read_bytes(),
        policy=email.policy.default,
    )

    assert [r["record"]["type"] for r in edited] == ["message.edited"]
    assert "before the announcement" not in (folder / "records.jsonl").read_text()
    assert [r["text"] for r in rows if r["message_id"] == str(world.edited.pk)] == [
        "buy 100 shares of ACME, as agreed"
    ]
    assert "before the announcement" not in eml.get_body(("plain",)).get_content()
    assert job.options["versions"] == "latest"
    assert json.loads((folder / "manifest.json").read_text())["options"]["versions"] == "latest"
    assert job.counts["records"] == len(lines) < job.total
    code, out = verify(folder, public_key_file(tmp_path))
    assert code == 0, out


def test_every_version_is_the_default(world: World, officer, tmp_path: Path):
    job = run_to_end(services.export_create(user=officer, conversation_ids=[world.channel.pk]))
    lines = _records(unpacked(job, tmp_path / "got"))

    assert [
        r["record"]["type"] for r in lines if r["record"].get("message_id") == world.edited.pk
    ] == ["message.new", "message.edited"]
    assert job.options["versions"] == "all"


@pytest.fixture
def busy(officer, alice, bob):
    """A channel of ten messages a minute apart, the fifth of them the hit."""
    channel = ChannelFactory(creator=alice, name="busy-desk", members=[bob])
    sent = [send(alice if i % 2 else bob, channel, f"line {i}") for i in range(10)]
    start = timezone.now() - timedelta(hours=1)
    for i, message in enumerate(sent):  # as if written a minute apart
        ConversationEvent.objects.filter(conversation=channel, seq=message.seq).update(
            occurred_at=start + timedelta(minutes=i)
        )
    archive_pending()
    checkpoint_create()
    return channel, sent


def test_context_of_n_messages_marks_the_messages_around_a_hit_in_every_format(
    busy, officer, tmp_path: Path
):
    _channel, sent = busy
    hit = sent[4]
    job = run_to_end(
        services.export_create(
            user=officer, message_ids=[hit.pk], formats=EVERY_FORMAT, context={"messages": 2}
        )
    )
    folder = unpacked(job, tmp_path / "got")
    news = [r for r in _records(folder) if r["record"]["type"] == "message.new"]
    rows = list(csv.DictReader(io.StringIO((folder / "messages.csv").read_text("utf-8-sig"))))
    emls = {
        p.stem: email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (folder / "eml").rglob("*.eml")
    }

    assert [r["record"]["message_id"] for r in news] == [m.pk for m in sent[2:7]]
    assert {r["record"]["message_id"]: r.get("context", False) for r in news} == {
        m.pk: m.pk != hit.pk for m in sent[2:7]
    }
    assert {r["message_id"]: r["context"] for r in rows} == {
        str(m.pk): "false" if m.pk == hit.pk else "true" for m in sent[2:7]
    }
    assert {k: v["X-EIM-Context"] for k, v in emls.items()} == {
        str(m.pk): "no" if m.pk == hit.pk else "yes" for m in sent[2:7]
    }
    assert job.options["context"] == {"messages": 2}
    assert job.counts["messages"] == 5
    code, out = verify(folder, public_key_file(tmp_path))
    assert code == 0, out


def test_context_of_a_time_window_takes_the_messages_written_within_it(
    busy, officer, tmp_path: Path
):
    channel, sent = busy
    seqs = dict(
        ArchiveRecord.objects.filter(
            event_type="message.new", conversation_id=channel.pk
        ).values_list("message_id", "occurred_at")
    )
    hit = sent[4]
    minutes = 3
    job = run_to_end(
        services.export_create(
            user=officer, message_ids=[hit.pk], formats=["jsonl"], context={"minutes": minutes}
        )
    )
    news = [
        r for r in _records(unpacked(job, tmp_path / "got")) if r["record"]["type"] == "message.new"
    ]
    window = timedelta(minutes=minutes)
    expected = [m.pk for m in sent if abs(seqs[m.pk] - seqs[hit.pk]) <= window]

    assert [r["record"]["message_id"] for r in news] == expected
    assert hit.pk in expected
    assert len(expected) == 2 * minutes + 1


def test_the_context_walks_keep_a_bounded_window():
    at = timezone.now()
    line = [(i, at + timedelta(minutes=i)) for i in range(1, 21)]

    assert list(_around_count(line, {5, 7, 18}, 2)) == [3, 4, 6, 8, 9, 16, 17, 19, 20]
    assert list(_around_time(line, {10}, timedelta(minutes=2))) == [8, 9, 11, 12]


@pytest.mark.parametrize(
    "asked",
    [
        {"context": {"messages": 0}},
        {"context": {"messages": 101}},
        {"context": {"minutes": 5, "messages": 5}},
        {"context": {"hours": 1}},
        {"context": {"messages": True}},
        {"versions": "some"},
    ],
)
def test_a_bad_option_is_refused_with_nothing_created(world: World, officer, asked):
    jobs, events = ExportJob.objects.count(), AuditEvent.objects.count()

    with pytest.raises(ComplianceError):
        services.export_create(user=officer, conversation_ids=[world.channel.pk], **asked)

    assert ExportJob.objects.count() == jobs
    assert AuditEvent.objects.count() == events
