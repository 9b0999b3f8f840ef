"""A full verification in steps: each step commits at a witnessed checkpoint, and a run cut
short resumes from its last step, never from a step row alone."""

import json
import uuid

import pytest

from archive.models import VerificationRun, VerificationStep
from archive.verification import verify_archive, verify_archive_in_steps
from tests.archive.helpers import archive_verify, outcome, sql, triggers_bypassed
from tests.archive.sealed import EARLY, LATE, REWRITE, SealedArchive, body_changed

pytestmark = pytest.mark.django_db


@pytest.fixture
def witness_dir(sealed: SealedArchive):  # type: ignore[no-untyped-def]
    return sealed.witness


def _steps() -> list[tuple[int, int, int, bool]]:
    rows = VerificationStep.objects.order_by("pk")
    return [(s.step, s.from_seq, s.to_seq, s.final) for s in rows]


def test_a_run_in_steps_commits_at_each_witnessed_checkpoint_and_reports_as_one_run(sealed):
    in_steps = verify_archive_in_steps(step_records=10)

    whole = verify_archive(record_run=False)
    assert _steps() == [(0, 1, 15, False), (1, 16, 30, False), (2, 31, 30, True)]
    assert (in_steps.records, in_steps.checkpoints, in_steps.problems) == (30, 2, [])
    assert (whole.records, whole.checkpoints, whole.blobs) == (30, 2, in_steps.blobs)
    assert VerificationRun.objects.get().verified_tree_size == 30


def test_a_run_cut_short_resumes_from_its_last_step_with_the_problems_found_before(sealed):
    with triggers_bypassed():
        sql(REWRITE, [body_changed(EARLY, "message 4, quietly reworded"), EARLY])
    verify_archive_in_steps(step_records=10, max_steps=1)  # then the process dies
    committed = _steps()

    report = verify_archive_in_steps(step_records=10)

    assert committed == [(0, 1, 15, False)]
    assert _steps() == [(0, 1, 15, False), (1, 16, 30, False), (2, 31, 30, True)]
    assert [(p.kind, p.seq) for p in report.problems] == [("hash", EARLY), ("content", EARLY)]
    assert (report.records, report.checkpoints) == (30, 2)


def test_a_forged_step_row_is_not_resumed_from(sealed):
    with triggers_bypassed():
        sql(REWRITE, [body_changed(LATE, "reply 2, quietly reworded"), LATE])
    VerificationStep(
        run_key=uuid.uuid4(),
        step=0,
        from_seq=1,
        to_seq=30,
        records=30,
        checkpoints=2,
        problems=[],
        final=False,
        committed_at="2026-12-01T00:00:00Z",
    ).save()

    report = verify_archive_in_steps(step_records=10)

    assert [(p.kind, p.seq) for p in report.problems] == [("hash", LATE), ("content", LATE)]
    assert report.records == 30


def test_a_step_row_changed_after_the_crash_is_not_resumed_from(sealed, verify_state):
    with triggers_bypassed():
        sql(REWRITE, [body_changed(EARLY, "message 4, quietly reworded"), EARLY])
    verify_archive_in_steps(step_records=10, max_steps=1)  # then the process dies
    with triggers_bypassed():
        sql("UPDATE archive_verificationstep SET problems = '[]'")

    report = verify_archive_in_steps(step_records=10)

    assert json.loads(verify_state.read_text())["steps"]
    assert [(p.kind, p.seq) for p in report.problems] == [("hash", EARLY), ("content", EARLY)]
    assert report.records == 30


def test_steps_are_append_only(sealed):
    verify_archive_in_steps(step_records=10)

    changed = outcome(lambda: VerificationStep.objects.update(problems=[]))
    removed = outcome(lambda: VerificationStep.objects.all().delete())

    assert (changed, removed) == ("refused", "refused")
    assert VerificationStep.objects.count() == 3


def test_the_command_runs_in_steps(sealed):
    code, report = archive_verify("--in-steps", "--step-records", "10")

    assert (code, report["records"], report["checkpoints"], report["ok"]) == (0, 30, 2, True)
    assert len(_steps()) == 3
