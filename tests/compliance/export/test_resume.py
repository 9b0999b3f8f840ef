"""A resumed export is byte-identical to an uninterrupted one (except its timestamps), with
nothing written twice: after a crash between steps in this process, and after kill -9 of a
real Celery worker, resumed by the sweeper on a new worker."""

import json
import subprocess
import time
from pathlib import Path

import pytest
from django.test import override_settings

from accounts.models import User
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from compliance.export import runner, services
from compliance.export.models import ExportJob
from tests.factories import ChannelFactory, send

from .conftest import World, run_to_end, unpacked

# What differs between two exports of the same scope: their ids and times.
OWN = {"manifest.json", "manifest.dsse.json", "README.txt"}
#: Each resume is tested with the scope read from the archive by conversation, and frozen as
#: rows (EIM_EXPORT_CONVERSATION_SCOPES).
BOTH_SCOPES = pytest.mark.parametrize(
    "by_conversation", [True, False], ids=["by-conversation", "frozen-rows"]
)


def contents(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() not in OWN
    }


def assert_nothing_twice(folder: Path, job: ExportJob) -> None:
    seqs = [json.loads(line)["seq"] for line in (folder / "records.jsonl").open()]
    proven = [json.loads(line)["seq"] for line in (folder / "proofs.jsonl").open()]
    assert seqs == proven == sorted(set(seqs))
    assert len(seqs) == job.total == job.done


class Crash(BaseException):
    """A worker dying between writing a step's files and committing its cursor."""


def crash_after_the_first_step(job: ExportJob, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `job` until its worker dies before the second step's commit (the steps after the
    first may be written already), and let its lease lapse."""
    real_commit, commits = runner.job_commit, []

    def crashing_commit(job, token, **fields):  # type: ignore[no-untyped-def]
        commits.append(fields)
        if len(commits) == 3:  # the start, one step, then dies before the second's commit
            raise Crash
        return real_commit(job, token, **fields)

    monkeypatch.setattr(runner, "job_commit", crashing_commit)
    with pytest.raises(Crash):
        runner.export_run(job_id=str(job.pk))
    monkeypatch.setattr(runner, "job_commit", real_commit)
    job.refresh_from_db()
    assert job.state == "running"
    assert 0 < job.done < job.total
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=None)  # the lease lapsed


def cancel_during_the_first_step(officer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    """The officer cancels the job that runs next while its first step is being written."""
    real_commit, commits = runner.job_commit, []

    def cancelling_commit(job, token, **fields):  # type: ignore[no-untyped-def]
        commits.append(fields)
        if len(commits) == 2:
            services.export_cancel(user=officer, export_id=str(job.pk))
        return real_commit(job, token, **fields)

    monkeypatch.setattr(runner, "job_commit", cancelling_commit)


@pytest.mark.django_db
@BOTH_SCOPES
def test_an_export_interrupted_between_steps_resumes_to_the_same_bytes(
    world: World,
    officer: User,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    by_conversation: bool,
):
    asked = {"conversation_ids": [world.channel.pk], "formats": ["jsonl", "csv", "eml", "rsmf"]}
    with override_settings(EIM_EXPORT_CONVERSATION_SCOPES=False):  # the reference
        whole = run_to_end(services.export_create(user=officer, **asked))
    with override_settings(EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        interrupted = services.export_create(user=officer, **asked)
        crash_after_the_first_step(interrupted, monkeypatch)

        resumed = run_to_end(interrupted)

    assert (whole.by_conversation, resumed.by_conversation) == (False, by_conversation)
    first, second = unpacked(whole, tmp_path / "a"), unpacked(resumed, tmp_path / "b")
    assert contents(first) == contents(second)
    assert_nothing_twice(second, resumed)
    assert resumed.counts == whole.counts


@pytest.mark.django_db
def test_a_worker_that_still_beats_keeps_its_job(world: World, officer: User):
    job = services.export_create(user=officer, conversation_ids=[world.channel.pk])
    claimed = runner.job_claim(job_id=str(job.pk), states=("queued",))
    assert claimed is not None

    assert runner.export_run(job_id=str(job.pk)) == "not claimed"
    job.refresh_from_db()
    assert (job.state, job.done) == ("queued", 0)


# ----- kill -9 of a real worker


@pytest.fixture
def big_channel(alice: User, bob: User) -> int:
    channel = ChannelFactory(creator=alice, name="big", members=[bob])
    for i in range(150):
        send(alice if i % 2 else bob, channel, f"message {i} about the ACME position")
    archive_pending()
    checkpoint_create()
    return channel.pk


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    from tests.archive.test_faults import CELERY, ROOT

    with open(log, "ab") as out:
        return subprocess.Popen(
            [
                *(CELERY, "-A", "eim", "worker", "--pool=solo", "-Q", "celery,signing"),
                *("--loglevel=INFO", "--without-mingle", "--without-gossip"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [1, 2], ids=["serial", "parallel-steps"])
@BOTH_SCOPES
def test_an_export_whose_worker_is_killed_resumes_on_another_to_the_same_bytes(
    big_channel: int,
    officer: User,
    tmp_path: Path,
    export_environment: Path,
    workers: int,
    by_conversation: bool,
):
    from django.conf import settings

    from tests.archive.test_faults import Broker, publish_to
    from tests.conftest import server_env

    broker = Broker(tmp_path)
    broker.start()
    previous = settings.CELERY_BROKER_URL
    publish_to(broker.url)
    env = {
        **server_env(),
        "CELERY_BROKER_URL": broker.url,
        "EIM_ARCHIVE_SIGNING_KEY": settings.EIM_ARCHIVE_SIGNING_KEY,
        "EIM_ARCHIVE_PUBLIC_KEY": settings.EIM_ARCHIVE_PUBLIC_KEY,
        "EIM_ARCHIVE_BLOB_ROOT": str(export_environment / "blobs"),
        "EIM_ARCHIVE_WITNESS_DIR": str(export_environment / "witness"),
        "EIM_EXPORT_ROOT": str(export_environment / "exports"),
        "EIM_EXPORT_CHUNK": "2",
        "EIM_EXPORT_STALE_AFTER": "1",
        # With 2, the steps are written by the worker's child processes (killed with it).
        "EIM_EXPORT_WORKERS": str(workers),
        "EIM_EXPORT_PARALLEL_FROM": "0",
        # Each step committed on its own, so that the first worker is seen part-way.
        "EIM_EXPORT_COMMIT_EVERY": "0",
        "EIM_EXPORT_CONVERSATION_SCOPES": str(by_conversation),
    }
    workers: list[subprocess.Popen[bytes]] = []
    try:
        asked = {"conversation_ids": [big_channel], "formats": ["jsonl", "csv", "eml", "rsmf"]}
        with override_settings(EIM_EXPORT_CHUNK=2, EIM_EXPORT_CONVERSATION_SCOPES=False):
            whole = run_to_end(services.export_create(user=officer, **asked))
        workers.append(_worker(env, tmp_path / "first.log"))
        job = services.export_create(user=officer, **asked)  # published on commit

        def halfway() -> bool:
            job.refresh_from_db()
            return job.state == "running" and job.total // 4 < job.done < job.total // 2

        _wait(halfway, 60, "the first worker to be part-way")
        workers[0].kill()  # SIGKILL: no cleanup, no acknowledgement
        workers[0].wait(timeout=10)
        job.refresh_from_db()
        stopped_at = job.done
        time.sleep(1.5)  # its lease lapses (EIM_EXPORT_STALE_AFTER)
        with override_settings(EIM_EXPORT_STALE_AFTER=1):
            assert services.export_sweep()["run"] == 1
        workers.append(_worker(env, tmp_path / "second.log"))

        def finished() -> bool:
            job.refresh_from_db()
            return job.state in ("done", "failed")

        _wait(finished, 120, "the resumed export to finish")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=15)
        publish_to(previous)
        broker.kill()

    assert job.state == "done", job.error
    assert (whole.by_conversation, job.by_conversation) == (False, by_conversation)
    assert 0 < stopped_at < job.total
    first, second = unpacked(whole, tmp_path / "a"), unpacked(job, tmp_path / "b")
    assert contents(first) == contents(second)
    assert_nothing_twice(second, job)


@pytest.mark.django_db
def test_a_worker_cancelled_mid_run_stops_at_its_next_step_and_leaves_no_files(
    world: World, officer: User, monkeypatch: pytest.MonkeyPatch
):
    from compliance.export.files import export_storage

    job = services.export_create(user=officer, conversation_ids=[world.channel.pk])
    cancel_during_the_first_step(officer, monkeypatch)

    assert runner.export_run(job_id=str(job.pk)) == "lost"
    job.refresh_from_db()
    assert job.state == "cancelled"
    assert not export_storage().exists(str(job.pk))
