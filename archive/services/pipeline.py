"""Waking the archiver after a commit, and finding events whose wake-up was lost."""

import logging
import threading
from datetime import timedelta

from django.utils import timezone

from eim.chat import selectors as chat_selectors

logger = logging.getLogger(__name__)

# Commits within this window share one wake-up: a task started after all of them archives all.
COALESCE_SECONDS = 0.02


class _WakeUp:
    """At most one pending wake-up per process, published shortly after the first commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._timer: threading.Timer | None = None

    def request(self, event_ids: list[int]) -> None:
        with self._lock:
            self._pending.extend(event_ids)
            if self._timer is None:
                self._timer = threading.Timer(COALESCE_SECONDS, self._publish)
                self._timer.daemon = True
                self._timer.start()

    def _publish(self) -> None:
        with self._lock:
            event_ids, self._pending, self._timer = self._pending, [], None
        publish_archive_task(event_ids)


_wake_up = _WakeUp()


def publish_archive_task(event_ids: list[int]) -> None:
    """Ask a worker to archive. Losing this call loses nothing: the beat sweeper archives
    anything still pending a few seconds later."""
    from ..tasks import archive_pending_task

    try:
        archive_pending_task.apply_async(args=(event_ids[:100],), retry=False)
    except Exception:  # a broker outage must not fail the committed write
        logger.warning("archive wake-up not published; the sweeper will archive %s", event_ids)


def archive_kick(event_ids: list[int]) -> None:
    """After an event commits (registered with eim.chat.services.events.after_event_commit)."""
    _wake_up.request(event_ids)


def stale_pending_exists(*, older_than: float) -> bool:
    summary = chat_selectors.events_pending_archive_summary()
    oldest = summary["oldest"]
    return bool(summary["count"]) and oldest <= timezone.now() - timedelta(seconds=older_than)
