"""Scanning tasks: thin, idempotent callers of the stage (registered by compliance.tasks)."""

import logging

from celery import shared_task

from .stage import scan_pending

logger = logging.getLogger(__name__)


@shared_task(name="compliance.scan_records", soft_time_limit=120, time_limit=240)
def scan_records_task(first_seq: int, last_seq: int) -> int:
    """Scan what was archived; the range only says which batch woke us (the stage resumes
    from its state, so a redelivered or late task scans nothing twice)."""
    return scan_pending()


@shared_task(name="compliance.scan_sweep", soft_time_limit=120, time_limit=240)
def scan_sweep_task() -> int:
    """Beat: scan archived records whose task never ran (broker down, worker lost)."""
    scanned = scan_pending()
    if scanned:
        logger.info("scan sweep scanned %s archive records", scanned)
    return scanned


def scan_kick(first_seq: int, last_seq: int) -> None:
    """The after_archive hook: ask a worker to scan. Losing this call loses nothing."""
    try:
        scan_records_task.apply_async(args=(first_seq, last_seq), retry=False)
    except Exception:  # a broker outage must not fail the archiving that just committed
        logger.warning("scan task for %s..%s not published; the sweeper will", first_seq, last_seq)
