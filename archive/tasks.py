"""Archive tasks. Each is idempotent: it archives whatever is pending, under the archive lock."""

import logging
from typing import TYPE_CHECKING

from celery import shared_task
from django.conf import settings

from .services.archiving import archive_pending
from .services.checkpoints import checkpoint_create, checkpoint_due
from .services.pipeline import stale_pending_exists

if TYPE_CHECKING:
    from .verification import Report

logger = logging.getLogger(__name__)


@shared_task(name="archive.archive_pending", soft_time_limit=60, time_limit=120)
def archive_pending_task(event_ids: list[int] | None = None) -> int:
    """Archive pending outbox events; `event_ids` only says which commit woke us."""
    archived = archive_pending()
    if archived and checkpoint_due(every=settings.EIM_ARCHIVE_CHECKPOINT_EVERY):
        checkpoint_task.delay()
    return archived


@shared_task(name="archive.sweep", soft_time_limit=60, time_limit=120)
def sweep_task() -> int:
    """Beat: archive events whose wake-up was lost (broker down, crash before publish)."""
    if not stale_pending_exists(older_than=settings.EIM_ARCHIVE_SWEEP_AFTER):
        return 0
    archived = archive_pending()
    logger.warning("archive sweep archived %s events whose task never ran", archived)
    return archived


@shared_task(name="archive.checkpoint", soft_time_limit=300, time_limit=600)
def checkpoint_task() -> int | None:
    checkpoint = checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="archive.verify", soft_time_limit=3000, time_limit=3300)
def verify_task() -> int:
    """Beat, hourly: verify from the newest witnessed checkpoint, plus this hour's window of
    older records and blobs; problems are logged loudly."""
    return _verify(incremental=True)


@shared_task(name="archive.verify_full", soft_time_limit=3000, time_limit=3300)
def verify_full_task() -> int:
    """Beat, weekly: verify every record, checkpoint and blob, in steps; a run cut short (a
    crash, a redelivery, the time limit) resumes from its last step when started again."""
    from .verification import verify_archive_in_steps

    return _log(verify_archive_in_steps())


def _verify(*, incremental: bool) -> int:
    from .verification import verify_archive

    return _log(verify_archive(incremental=incremental))


def _log(report: "Report") -> int:
    for problem in report.problems:
        logger.error(
            "archive verification: [%s] seq=%s checkpoint=%s blob=%s: %s",
            problem.kind,
            problem.seq,
            problem.checkpoint,
            problem.blob,
            problem.detail,
        )
    return len(report.problems)
