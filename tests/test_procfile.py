"""deploy/Procfile runs a worker for every queue a task is routed to, archiving and signing
apart."""

import shlex
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils.timezone import now

from eim.celery import app

PROCFILE = Path(__file__).resolve().parent.parent / "deploy" / "Procfile"


def _worker_queues() -> dict[str, set[str]]:
    """Procfile process name -> the queues its `celery worker -Q` serves."""
    workers = {}
    for line in PROCFILE.read_text().splitlines():
        name, _, command = line.partition(":")
        args = shlex.split(command)
        if "worker" in args and "-Q" in args:
            workers[name] = set(args[args.index("-Q") + 1].split(","))
    return workers


def _queue_of(task_name: str) -> str:
    route = app.amqp.router.route({}, task_name)
    return str(route["queue"].name)


def test_every_task_is_served_by_a_worker_in_the_procfile():
    app.loader.import_default_modules()
    served = set().union(*_worker_queues().values())
    tasks = [name for name in app.tasks if not name.startswith("celery.")]

    assert {_queue_of(name) for name in tasks} <= served
    assert any(name.startswith("archive.") for name in tasks)


def test_archiving_has_a_worker_of_its_own():
    archive_queues = {_queue_of("archive.archive_pending"), _queue_of("archive.sweep")}

    assert archive_queues == {"archive"}
    assert [queues for queues in _worker_queues().values() if "archive" in queues] == [{"archive"}]
    assert _queue_of("compliance.index_records") != "archive"
    assert _queue_of("archive.verify") != "archive"  # an hour-long run must not block it


def test_checkpoint_signing_has_a_worker_of_its_own():
    """The private key can then live with that one process."""
    signing_queues = {_queue_of("archive.checkpoint"), _queue_of("audit.checkpoint")}

    assert signing_queues == {"signing"}
    assert [queues for queues in _worker_queues().values() if "signing" in queues] == [{"signing"}]
    assert _queue_of("archive.verify") != "signing"  # verification needs no private key


def test_a_full_verification_is_scheduled_weekly_beside_the_hourly_one():
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }

    assert schedule["archive.verify"] == 3600.0
    assert schedule["archive.verify_full"].remaining_estimate(now()) <= timedelta(days=7)
    assert schedule["archive.verify_full"].day_of_week == {0}
    assert _queue_of("archive.verify_full") == "celery"


def test_audit_checkpoints_are_signed_on_the_beat_every_half_minute():
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }

    assert schedule["audit.checkpoint"] == 30.0


def test_the_web_process_lets_a_queued_handshake_wait_longer_than_daphnes_five_seconds():
    """After a restart the server admits EIM_HANDSHAKES_IN_FLIGHT handshakes at a time; the
    rest wait their turn, and Daphne's default 5 s would refuse them (docs/chat.md)."""
    web = next(line for line in PROCFILE.read_text().splitlines() if line.startswith("web:"))
    args = shlex.split(web.partition(":")[2])

    assert float(args[args.index("--websocket_connect_timeout") + 1]) >= 30
