"""The concatenated files (JSON Lines, CSV, the proofs) are assembled while a parallel run's
steps are written, and moved into the folder whole, by the worker that still holds the job;
a file being written is never seen part-written; what they were made of is removed once the
folder's files are final. The step processes read what the test committed, hence
transaction=True."""

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import File
from django.test import override_settings

from accounts.models import User
from compliance.export import files, runner, services
from compliance.export.files import export_name, export_storage
from compliance.export.models import ExportJob

from .conftest import World, run_to_end, unpacked
from .test_parallel import PARALLEL, SERIAL
from .test_resume import contents, crash_after_the_first_step

# The step processes read what the test committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(360)]

FORMATS = ["jsonl", "csv", "eml"]


class _Paused(File):  # type: ignore[type-arg]
    """A file that hands its first half to the storage, then waits until told to go on."""

    def __init__(self, data: bytes, go_on: threading.Event, halfway: threading.Event) -> None:
        super().__init__(io.BytesIO(data), name="paused")
        self.data, self.go_on, self.halfway = data, go_on, halfway

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        middle = len(self.data) // 2
        yield self.data[:middle]
        self.halfway.set()
        self.go_on.wait(10)
        yield self.data[middle:]


def test_a_file_being_replaced_is_never_seen_part_written() -> None:
    """A worker that lost its job may still be writing a step's part again (the same bytes)
    while the worker that took it over appends that part to its files: the reader must find
    the part whole, the old bytes or the new, never cut short."""
    name = files.part_name("job", 1, "records.jsonl")
    old, new = b"o" * 100_000, b"n" * 100_000
    files.put(name, old)
    go_on, halfway = threading.Event(), threading.Event()
    writer = threading.Thread(target=files.put, args=(name, _Paused(new, go_on, halfway)))
    writer.start()
    try:
        assert halfway.wait(10)
        with export_storage().open(name, "rb") as stream:
            seen = stream.read()
    finally:
        go_on.set()
        writer.join()

    assert seen == old
    with export_storage().open(name, "rb") as stream:
        assert stream.read() == new
    # Nothing left where files are written before they are renamed.
    assert not any(Path(export_storage().path("job/writing")).iterdir())


def _job_folder(job: ExportJob) -> Path:
    return Path(export_storage().path(str(job.pk)))


def _concatenated_parts(job: ExportJob) -> list[Path]:
    return [
        path
        for name in ("records.jsonl", "messages.csv", "proofs.jsonl")
        for path in (_job_folder(job) / "parts").glob(f"*/{name}")
    ]


def test_a_parallel_run_assembles_its_files_while_the_steps_are_written(
    world: World, officer: User, monkeypatch: pytest.MonkeyPatch
):
    asked = {"conversation_ids": [world.channel.pk], "formats": FORMATS}
    appended: list[tuple[int, bool]] = []  # (through part, the steps still running)
    real_through, finishing = files.Assembly.through, []

    def seen(self, part):  # type: ignore[no-untyped-def]
        appended.append((part, not finishing))
        real_through(self, part)

    real_finish = runner._finish

    def finish(run):  # type: ignore[no-untyped-def]
        finishing.append(True)
        return real_finish(run)

    monkeypatch.setattr(files.Assembly, "through", seen)
    monkeypatch.setattr(runner, "_finish", finish)
    with override_settings(**PARALLEL):
        job = run_to_end(services.export_create(user=officer, **asked))

    assert job.state == "done", job.error
    during_steps = [part for part, running in appended if running]
    # Each step's parts appended as it was answered, in order, before the last step.
    assert during_steps == list(range(1, job.parts))
    # The folder's files are final: their parts and the assembly are gone, the bundles kept.
    assert _concatenated_parts(job) == []
    assert not (_job_folder(job) / "assembling").exists()
    assert not any((_job_folder(job) / "writing").iterdir())
    assert list((_job_folder(job) / "parts").glob(f"*/{files.BUNDLE}"))


@pytest.mark.parametrize("settings_", [PARALLEL, SERIAL], ids=["parallel", "serial"])
def test_a_worker_that_lost_the_job_moves_nothing_into_the_folder(
    world: World, officer: User, monkeypatch: pytest.MonkeyPatch, settings_: dict[str, int]
):
    """Another worker took the job while this one assembled its files (its lease lapsed):
    this one stops before its files reach the folder."""
    job = services.export_create(user=officer, conversation_ids=[world.channel.pk])
    real_complete = files.Assembly.complete

    def taken_over(self, **kwargs):  # type: ignore[no-untyped-def]
        real_complete(self, **kwargs)
        ExportJob.objects.filter(pk=job.pk).update(lease_token="another worker's")

    monkeypatch.setattr(files.Assembly, "complete", taken_over)
    with override_settings(**settings_):
        assert runner.export_run(job_id=str(job.pk)) == "lost"

    assert not export_storage().exists(export_name(str(job.pk), "records.jsonl"))
    assert not export_storage().exists(export_name(str(job.pk), "proofs.jsonl"))
    assert _concatenated_parts(job)  # kept for the worker that holds the job


def test_a_run_that_died_assembling_is_resumed_to_the_same_folder_and_nothing_left(
    world: World, officer: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    asked = {"conversation_ids": [world.channel.pk], "formats": FORMATS}
    with override_settings(**SERIAL):
        whole = run_to_end(services.export_create(user=officer, **asked))
    interrupted = services.export_create(user=officer, **asked)
    with override_settings(**PARALLEL):
        crash_after_the_first_step(interrupted, monkeypatch)
    # The dead run's assembly, begun and left behind: never in the folder.
    assert list((_job_folder(interrupted) / "assembling").glob("*/records.jsonl"))

    with override_settings(**PARALLEL):
        resumed = run_to_end(interrupted)

    assert contents(unpacked(resumed, tmp_path / "b")) == contents(unpacked(whole, tmp_path / "a"))
    assert not (_job_folder(resumed) / "assembling").exists()
    assert _concatenated_parts(resumed) == []
