"""A job's steps written in child processes (EIM_EXPORT_WORKERS): the same folder, manifest
and proofs as a serial run, byte for byte; a run that dies part-way resumes to the same bytes
with nothing twice; a cancelled one leaves nothing; a child that fails stops the run loudly
with nothing committed past it. The children read what the test committed, hence
transaction=True."""

import json
from pathlib import Path

import pytest
from django.test import override_settings

from accounts.models import User
from compliance.export import runner, services, slices
from compliance.export.files import export_storage

from .conftest import World, run_to_end, unpacked
from .test_resume import (
    BOTH_SCOPES,
    assert_nothing_twice,
    cancel_during_the_first_step,
    contents,
    crash_after_the_first_step,
)

# Each run starts child processes with Django (seconds each on a loaded machine).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(360)]

FORMATS = ["jsonl", "csv", "eml", "rsmf"]
#: Two children, from the first record, three records a step: every step of the world's
#: channel goes through them.
PARALLEL = {"EIM_EXPORT_WORKERS": 2, "EIM_EXPORT_PARALLEL_FROM": 0, "EIM_EXPORT_CHUNK": 3}
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
