"""A JSON Lines-only export has its lines written by PostgreSQL (compliance/export/lines.py):
every file, the proofs and the counts are those of the usual path (forced here for the
comparison), byte for byte: a whole export, a scope of conversations with a date range and
only the latest versions, a search with context, and bodies holding what CSV would quote."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from accounts.models import User
from archive.selectors import RecordRow
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from compliance.export import lines, runner
from compliance.export.formats.jsonl import record_line
from compliance.export.models import ExportJob
from compliance.export.services import export_create
from compliance.search.indexing import index_pending
from tests.archive.helpers import sql, triggers_bypassed
from tests.factories import ChannelFactory, send

from .conftest import World, public_key_file, run_to_end, unpacked
from .test_conversation_scope import DAY, dated  # noqa: F401 (a fixture)
from .test_resume import contents
from .test_verifier import verify

pytestmark = pytest.mark.django_db

#: Every character canonical JSON escapes or writes raw that CSV could quote or escape.
AWKWARD = 'say "hi" \\ back\\slash\nnew line\ttab \x01 \x02 \r bø 株式 👍🏽 \x7f'


def _both_runs(
    officer: User, asked: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[ExportJob, ExportJob, list[Any]]:
    """The same JSON Lines-only request run the usual way, then with PostgreSQL's lines: both
    jobs, and what each COPY answered (None: read the usual way)."""
    with monkeypatch.context() as usual:
        usual.setattr(runner, "_copies_lines", lambda run: False)
        before = run_to_end(export_create(user=officer, formats=["jsonl"], **asked))
    answers: list[Any] = []
    made = lines.copied_records

    def counted(**kwargs: Any) -> Any:
        answers.append(made(**kwargs))
        return answers[-1]

    monkeypatch.setattr("compliance.export.records.copied_records", counted)
    after = run_to_end(export_create(user=officer, formats=["jsonl"], **asked))
    return before, after, answers


def _both_paths(
    officer: User, asked: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[ExportJob, ExportJob]:
    """`_both_runs`, both done, the second's lines written by PostgreSQL."""
    before, after, answers = _both_runs(officer, asked, monkeypatch)
    assert answers, "the lines were not written by PostgreSQL"
    assert before.state == after.state == "done", (before.error, after.error)
    return before, after


def _assert_same_bytes(before: ExportJob, after: ExportJob, tmp_path: Path) -> Path:
    first, second = unpacked(before, tmp_path / "usual"), unpacked(after, tmp_path / "copied")
    assert contents(first) == contents(second)
    assert (after.total, after.done, after.parts, after.counts) == (
        before.total,
        before.done,
        before.parts,
        before.counts,
    )
    code, out = verify(second, public_key_file(tmp_path))
    assert code == 0, out
    return second


def _records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("by_conversation", [True, False], ids=["by-conversation", "frozen-rows"])
def test_a_whole_export_has_the_same_bytes_both_ways(
    world: World, officer: User, tmp_path: Path, monkeypatch, by_conversation: bool
):
    asked = {"conversation_ids": [world.channel.pk, world.direct.pk]}
    with override_settings(EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        before, after = _both_paths(officer, asked, monkeypatch)

    folder = _assert_same_bytes(before, after, tmp_path)
    assert after.by_conversation == by_conversation
    assert after.parts > 2
    assert "lunch at noon" in (folder / "records.jsonl").read_text()


@pytest.mark.parametrize("by_conversation", [True, False], ids=["by-conversation", "frozen-rows"])
def test_a_date_range_of_latest_versions_has_the_same_bytes_both_ways(
    dated: dict[str, Any],  # noqa: F811 (the fixture)
    officer: User,
    tmp_path: Path,
    monkeypatch,
    by_conversation: bool,
):
    asked = {
        "conversation_ids": [c.pk for c in dated["channels"]],
        "since": DAY.isoformat(),
        "until": DAY.isoformat(),
        "versions": "latest",
    }
    with override_settings(EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        before, after = _both_paths(officer, asked, monkeypatch)

    folder = _assert_same_bytes(before, after, tmp_path)
    text = (folder / "records.jsonl").read_text()
    assert "edited the day after" in text
    assert f"on the day in {dated['channels'][0].name}" not in text  # the version replaced
    assert after.done > after.counts["records"]  # records read, not listed


def test_a_search_with_context_has_the_same_bytes_both_ways(
    alice: User, bob: User, officer: User, tmp_path: Path, monkeypatch
):
    channel = ChannelFactory(creator=alice, name="desk", members=[bob])
    for n in range(6):
        send(alice, channel, f"routine note {n}")
    send(bob, channel, "the merger closes friday")
    for n in range(6):
        send(bob, channel, f"later note {n}")
    archive_pending()
    checkpoint_create()
    index_pending()
    asked = {"query": "merger", "context": {"messages": 3}}

    before, after = _both_paths(officer, asked, monkeypatch)

    folder = _assert_same_bytes(before, after, tmp_path)
    news = [r for r in _records(folder) if r["record"]["type"] == "message.new"]
    assert sorted(r.get("context", False) for r in news) == [False, *[True] * 6]


@pytest.mark.parametrize("by_conversation", [True, False], ids=["by-conversation", "frozen-rows"])
def test_bodies_that_csv_would_quote_have_the_same_bytes_both_ways(
    alice: User, officer: User, tmp_path: Path, monkeypatch, by_conversation: bool
):
    channel = ChannelFactory(creator=alice, name="désk-株式")
    sent = [send(alice, channel, AWKWARD * n) for n in (1, 3)]
    archive_pending()
    checkpoint_create()
    asked = {"conversation_ids": [channel.pk]}
    with override_settings(EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        before, after = _both_paths(officer, asked, monkeypatch)

    folder = _assert_same_bytes(before, after, tmp_path)
    bodies = {
        r["record"]["message_id"]: r["record"]["payload"]["message"]["body"]
        for r in _records(folder)
        if r["record"]["type"] == "message.new"
    }
    assert bodies == {sent[0].pk: AWKWARD, sent[1].pk: AWKWARD * 3}
    raw = (folder / "records.jsonl").read_bytes()
    for escaped in (b'\\"hi\\"', b"\\\\", b"\\n", b"\\t", b"\\u0001", b"\\u0002", b"\\r"):
        assert escaped in raw
    assert "株式 👍🏽 \x7f".encode() in raw  # written raw, as canonical JSON writes them


def _copied(canonical: str) -> list[lines.CopiedRecord] | None:
    row = f"(VALUES (7, repeat('a', 64), repeat('0', 64), {canonical}))"
    return lines.copied_records(source=f"{row} AS r(seq, hash, prev_hash, canonical)", params=())


def test_a_canonical_text_with_a_raw_newline_is_left_to_the_usual_read(db):
    """Text the archive's canonical JSON never writes (a hand-written row) comes out quoted:
    the step is not written from it."""
    row = RecordRow(7, "message.new", 1, 1, datetime.now(UTC), b'{"a":"b"}', "0" * 64, "a" * 64)
    line = record_line(row, context=False)

    assert _copied('\'{"a":"b"}\'') == [lines.CopiedRecord(7, row.hash, line)]
    assert _copied('E\'{"a":"b\\nc"}\'') is None


@pytest.mark.parametrize("by_conversation", [True, False], ids=["by-conversation", "frozen-rows"])
def test_a_hand_written_raw_newline_is_left_to_the_usual_path_which_refuses_it(
    world: World, officer: User, monkeypatch, by_conversation: bool
):
    """A raw newline, which canonical JSON never writes, comes out of the COPY quoted: the
    step is read the usual way, which finds the text no longer hashes to its record's hash
    (it was written by hand) and stops the export, as the usual path alone does."""
    with triggers_bypassed("archive_archiverecord"):
        sql(
            "UPDATE archive_archiverecord SET canonical = replace(canonical, 'lunch', "
            "E'lun\\nch') WHERE canonical LIKE '%%lunch at noon%%'"
        )
    asked = {"conversation_ids": [world.direct.pk]}
    with override_settings(EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        before, after, answers = _both_runs(officer, asked, monkeypatch)

    assert None in answers  # the COPY's quoted output was not used
    assert before.state == after.state == "failed"
    assert after.error == before.error
    assert "content no longer hashes to its hash" in after.error
