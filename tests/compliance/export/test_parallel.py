"""A job's steps, and then its RSMF files, written in child processes (EIM_EXPORT_WORKERS):
the same folder, manifest, proofs and counts as a serial run, byte for byte; a run that dies
part-way (in the steps or among the RSMF files) resumes to the same bytes with nothing twice;
a cancelled one leaves nothing; a child that fails stops the run loudly with nothing
committed past it. The children read what the test committed, hence transaction=True."""

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from accounts.models import User
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from compliance.export import runner, services, slices
from compliance.export.files import export_name, export_storage
from compliance.export.models import ExportJob
from tests.factories import ChannelFactory, send

from .conftest import World, run_to_end, unpacked
from .test_resume import (
    BOTH_SCOPES,
    Crash,
    assert_nothing_twice,
    cancel_during_the_first_step,
    contents,
    crash_after_the_first_step,
)

# Each run starts child processes with Django (seconds each on a loaded machine).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(360)]

FORMATS = ["jsonl", "csv", "eml", "rsmf"]
#: Two children, from the first record, three records a step: every step of the world's
#: channel goes through them, each committed on its own.
PARALLEL = {
    "EIM_EXPORT_WORKERS": 2,
    "EIM_EXPORT_PARALLEL_FROM": 0,
    "EIM_EXPORT_CHUNK": 3,
    "EIM_EXPORT_COMMIT_EVERY": 0,
}
SERIAL = {"EIM_EXPORT_WORKERS": 1, "EIM_EXPORT_CHUNK": 3}


def _manifest_files(folder: Path) -> list[dict[str, object]]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return [f for f in manifest["files"] if f["path"] != "README.txt"]


@pytest.mark.parametrize(
    "formats", [FORMATS, ["jsonl", "dat"], ["jsonl"]], ids=["parallel", "with-dat", "jsonl-only"]
)
@BOTH_SCOPES
def test_a_parallel_run_writes_the_serial_runs_folder_manifest_and_proofs(
    world: World,
    officer: User,
    tmp_path: Path,
    formats: list[str],
    monkeypatch: pytest.MonkeyPatch,
    by_conversation: bool,
):
    asked = {"conversation_ids": [world.channel.pk], "formats": formats}
    # The serial run is the reference: its scope frozen as rows, as before.
    with override_settings(**SERIAL, EIM_EXPORT_CONVERSATION_SCOPES=False):
        serial = run_to_end(services.export_create(user=officer, **asked))
    started = []
    real_start = slices.StepWorkers.__init__

    def counted(self, count, context):  # type: ignore[no-untyped-def]
        started.append(count)
        real_start(self, count, context)

    monkeypatch.setattr(slices.StepWorkers, "__init__", counted)
    with override_settings(**PARALLEL, EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        parallel = run_to_end(services.export_create(user=officer, **asked))

    assert parallel.state == serial.state == "done", parallel.error
    assert parallel.by_conversation == by_conversation
    # DAT numbers its documents across steps: its jobs stay in the worker.
    assert started == ([] if "dat" in formats else [2])
    first, second = unpacked(serial, tmp_path / "a"), unpacked(parallel, tmp_path / "b")
    assert contents(first) == contents(second)
    assert (first / "proofs.jsonl").read_bytes() == (second / "proofs.jsonl").read_bytes()
    assert _manifest_files(first) == _manifest_files(second)
    assert parallel.counts == serial.counts
    assert parallel.parts == serial.parts > 3
    assert_nothing_twice(second, parallel)


@BOTH_SCOPES
def test_a_parallel_run_that_dies_part_way_resumes_to_the_same_bytes(
    world: World,
    officer: User,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    by_conversation: bool,
):
    asked = {"conversation_ids": [world.channel.pk], "formats": FORMATS}
    with override_settings(**SERIAL, EIM_EXPORT_CONVERSATION_SCOPES=False):
        whole = run_to_end(services.export_create(user=officer, **asked))
    interrupted = services.export_create(user=officer, **asked)
    parallel = override_settings(**PARALLEL, EIM_EXPORT_CONVERSATION_SCOPES=by_conversation)
    with parallel:  # the children write ahead of the commits
        crash_after_the_first_step(interrupted, monkeypatch)

    with parallel:
        resumed = run_to_end(interrupted)

    assert resumed.by_conversation == by_conversation

    first, second = unpacked(whole, tmp_path / "a"), unpacked(resumed, tmp_path / "b")
    assert contents(first) == contents(second)
    assert _manifest_files(first) == _manifest_files(second)
    assert_nothing_twice(second, resumed)
    assert resumed.counts == whole.counts


def test_steps_committed_together_are_redone_after_a_crash_to_the_same_bytes(
    world: World, officer: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The children's steps are committed together (EIM_EXPORT_COMMIT_EVERY): here all of
    them in one commit, and the worker dies just before it. Nothing of them was committed, so
    the resumed run writes every step again, under the same names with the same bytes."""
    asked = {"conversation_ids": [world.channel.pk], "formats": FORMATS}
    with override_settings(**SERIAL):
        whole = run_to_end(services.export_create(user=officer, **asked))
    job = services.export_create(user=officer, **asked)
    real_commit, commits = runner.job_commit, []

    def crashing_commit(job, token, **fields):  # type: ignore[no-untyped-def]
        commits.append(fields)
        if len(commits) == 2:  # the start, then the steps' one commit: dies before it
            raise Crash
        return real_commit(job, token, **fields)

    monkeypatch.setattr(runner, "job_commit", crashing_commit)
    together = {**PARALLEL, "EIM_EXPORT_COMMIT_EVERY": 3600}
    with override_settings(**together), pytest.raises(Crash):
        runner.export_run(job_id=str(job.pk))
    monkeypatch.undo()
    # Every step in that one commit: all the records, a part each.
    assert (commits[1]["done"], commits[1]["parts"]) == (whole.done, whole.parts)
    job.refresh_from_db()
    assert (job.state, job.done, job.cursor_seq) == ("running", 0, 0)
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=None)  # the lease lapsed

    with override_settings(**together):
        resumed = run_to_end(job)

    first, second = unpacked(whole, tmp_path / "a"), unpacked(resumed, tmp_path / "b")
    assert contents(first) == contents(second)
    assert_nothing_twice(second, resumed)
    assert resumed.counts == whole.counts


def test_a_parallel_run_cancelled_mid_way_stops_its_children_and_leaves_no_files(
    world: World, officer: User, monkeypatch: pytest.MonkeyPatch
):
    job = services.export_create(user=officer, conversation_ids=[world.channel.pk])
    cancel_during_the_first_step(officer, monkeypatch)  # while the children write steps
    with override_settings(**PARALLEL):
        assert runner.export_run(job_id=str(job.pk)) == "lost"

    job.refresh_from_db()
    assert job.state == "cancelled"
    assert not export_storage().exists(str(job.pk))


def test_a_child_that_fails_stops_the_run_with_nothing_committed_past_it(
    world: World, officer: User, monkeypatch: pytest.MonkeyPatch
):
    job = services.export_create(user=officer, conversation_ids=[world.channel.pk])
    real_context = slices.child_context

    def wrong_job(**kwargs):  # type: ignore[no-untyped-def]
        # The children are told of a job that does not exist: each one stops at its start.
        return {**real_context(**kwargs), "job_id": "00000000-0000-0000-0000-000000000000"}

    monkeypatch.setattr(slices, "child_context", wrong_job)
    with override_settings(**PARALLEL), pytest.raises(slices.SliceError, match="stopped"):
        runner.export_run(job_id=str(job.pk))

    job.refresh_from_db()
    assert (job.state, job.done, job.cursor_seq) == ("running", 0, 0)


# ----- the RSMF files, a conversation at a time in the step processes


@pytest.fixture
def conversations(world: World, alice: User, bob: User, carol: User) -> list[int]:
    """The world's channel and direct conversation and four more channels of different
    lengths: six conversations, more than the two children hold at a time."""
    ids = [world.channel.pk, world.direct.pk]
    for n in range(4):
        channel = ChannelFactory(creator=alice, name=f"desk-{n}", members=[bob, carol])
        for i in range(2 + 3 * n):
            send((alice, bob, carol)[i % 3], channel, f"desk {n}, line {i}: ACME at {40 + i}")
        ids.append(channel.pk)
    archive_pending()
    checkpoint_create()
    return ids


def _rsmf(folder: Path) -> dict[str, bytes]:
    return {path: data for path, data in contents(folder).items() if path.startswith("rsmf/")}


def _handed_out(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[int]]]:
    """(which child, the conversations) of each RSMF message the parent sends."""
    handed: list[tuple[int, list[int]]] = []
    real_send = slices._send

    def recorded(stream: Any, value: Any) -> None:
        if isinstance(value, dict) and "conversations" in value:
            handed.append((id(stream), list(value["conversations"])))
        real_send(stream, value)

    monkeypatch.setattr(slices, "_send", recorded)
    return handed


@pytest.mark.parametrize(
    "formats", [["rsmf"], ["rsmf", "dat"]], ids=["after-the-steps", "steps-in-the-worker"]
)
@BOTH_SCOPES
def test_the_step_processes_write_each_conversations_rsmf_files_as_the_worker_does(
    conversations: list[int],
    officer: User,
    tmp_path: Path,
    formats: list[str],
    monkeypatch: pytest.MonkeyPatch,
    by_conversation: bool,
):
    asked = {"conversation_ids": conversations, "formats": formats, "include_attachments": True}
    with override_settings(**SERIAL, EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        serial = run_to_end(services.export_create(user=officer, **asked))
    handed = _handed_out(monkeypatch)
    with override_settings(**PARALLEL, EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        parallel = run_to_end(services.export_create(user=officer, **asked))

    assert parallel.state == serial.state == "done", parallel.error
    # Every conversation handed out once, one at a time, and both children wrote some (with
    # DAT the steps stayed in the worker: the children were started for these files alone).
    assert sorted(cid for _, ids in handed for cid in ids) == sorted(conversations)
    assert {len(ids) for _, ids in handed} == {1}
    assert len({child for child, _ in handed}) == 2
    first, second = unpacked(serial, tmp_path / "a"), unpacked(parallel, tmp_path / "b")
    rsmf = _rsmf(first)
    assert len({path.split("/")[1] for path in rsmf}) == len(conversations)
    assert _rsmf(second) == rsmf
    assert contents(second) == contents(first)
    assert _manifest_files(second) == _manifest_files(first)
    assert parallel.counts == serial.counts
    assert parallel.counts["rsmf.files"] == len(rsmf)


@pytest.mark.parametrize("failure", ["error", "killed"])
def test_a_step_process_failing_among_the_rsmf_files_stops_the_run_and_a_rerun_writes_the_same(
    conversations: list[int],
    officer: User,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
):
    asked = {"conversation_ids": conversations, "formats": ["jsonl", "rsmf"]}
    with override_settings(**SERIAL):
        whole = run_to_end(services.export_create(user=officer, **asked))
    files_of = sorted(_rsmf(unpacked(whole, tmp_path / "a")))
    job = services.export_create(user=officer, **asked)
    storage = export_storage()
    if failure == "error":
        # A folder that cannot be replaced where the last conversation's file goes: the
        # child writing it fails after the others wrote theirs.
        blocked = Path(storage.path(export_name(str(job.pk), files_of[-1])))
        (blocked / "in-the-way").mkdir(parents=True)
    else:
        real_write = slices.StepWorkers.write_conversations

        def one_child_dead(self, format_name, conversation_ids, **beats):  # type: ignore[no-untyped-def]
            self._children[-1].kill()  # SIGKILL, before it is handed a conversation
            self._children[-1].wait()
            yield from real_write(self, format_name, conversation_ids, **beats)

        monkeypatch.setattr(slices.StepWorkers, "write_conversations", one_child_dead)
    message = "Is a directory" if failure == "error" else "stopped"
    with override_settings(**PARALLEL), pytest.raises(slices.SliceError, match=message):
        runner.export_run(job_id=str(job.pk))

    folder = Path(storage.path(export_name(str(job.pk), "rsmf")))
    written = [path for path in folder.rglob("*.rsmf") if path.is_file()]
    if failure == "error":  # part-way: the other conversations' files were written
        assert 0 < len(written) < len(files_of)
    job.refresh_from_db()
    # Every step committed, the RSMF files not: the job is resumed from its last step.
    assert (job.state, job.done) == ("running", job.total)
    assert "rsmf.files" not in job.counts
    if failure == "error":
        shutil.rmtree(blocked)
    monkeypatch.undo()
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=None)  # the lease lapsed
    with override_settings(**PARALLEL):
        resumed = run_to_end(job)

    assert resumed.state == "done", resumed.error
    first, second = unpacked(whole, tmp_path / "b"), unpacked(resumed, tmp_path / "c")
    assert contents(second) == contents(first)
    assert resumed.counts == whole.counts
    assert_nothing_twice(second, resumed)


@pytest.mark.parametrize("where", ["worker", "step-processes"])
def test_a_long_pass_of_rsmf_files_keeps_the_jobs_lease(
    conversations: list[int],
    officer: User,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
):
    """The RSMF files are written after the last step's commit, and nothing is committed until
    they all are: a pass longer than EIM_EXPORT_STALE_AFTER must still beat the job's
    heartbeat, or a second worker (sent by the sweeper) takes the job over mid-pass. Each
    file (or each child's answer) is slowed here, and another worker tries to claim the job
    after each one."""
    job = services.export_create(user=officer, conversation_ids=conversations, formats=["rsmf"])
    claims: list[object] = []

    def another_worker_tries() -> None:
        time.sleep(0.4)  # the pass: 6 conversations, 2.4 s or more; a heartbeat stale after 1 s
        claims.append(runner.job_claim(job_id=str(job.pk), states=("queued", "running")))

    if where == "worker":
        real_put = runner.files.put

        def slow_put(name: str, data: Any) -> None:
            real_put(name, data)
            if "/rsmf/" in name:
                another_worker_tries()

        monkeypatch.setattr(runner.files, "put", slow_put)
        settings = SERIAL
    else:
        real_write = slices.StepWorkers.write_conversations

        def slow_answers(self, format_name, conversation_ids, **beats):  # type: ignore[no-untyped-def]
            for answer in real_write(self, format_name, conversation_ids, **beats):
                another_worker_tries()
                yield answer

        monkeypatch.setattr(slices.StepWorkers, "write_conversations", slow_answers)
        settings = PARALLEL
    with override_settings(**settings, EIM_EXPORT_STALE_AFTER=1.0):
        assert runner.export_run(job_id=str(job.pk)) == "signing"

    job.refresh_from_db()
    # A claim after each file, or after each child's answer (a conversation each).
    tries = job.counts["rsmf.files"] if where == "worker" else len(conversations)
    assert len(claims) == tries >= len(conversations)
    assert claims == [None] * tries
