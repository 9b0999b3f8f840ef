"""Waking the archiver after a commit, and finding events whose wake-up was lost."""

import logging
from datetime import timedelta

from django.utils import timezone

from eim.chat import selectors as chat_selectors

logger = logging.getLogger(__name__)


def archive_kick(event_ids: list[int]) -> None:
    """After an event commits: ask a worker to archive. Losing this call loses nothing;
    the beat sweeper archives anything still pending a few seconds later."""
    from ..tasks import archive_pending_task

    try:
        archive_pending_task.apply_async(args=(event_ids,), retry=False)
    except Exception:  # a broker outage must not fail the committed write
        logger.warning("archive wake-up not published; the sweeper will archive %s", event_ids)


def stale_pending_exists(*, older_than: float) -> bool:
    summary = chat_selectors.events_pending_archive_summary()
    oldest = summary["oldest"]
    return bool(summary["count"]) and oldest <= timezone.now() - timedelta(seconds=older_than)
