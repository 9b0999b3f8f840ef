"""Waking the archiver after a commit, and finding events whose wake-up was lost."""

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from eim.chat import selectors as chat_selectors

logger = logging.getLogger(__name__)

# Commits within this window share one wake-up: a task started after all of them archives all.
# Publishing a task costs a chat server ~0.1 ms of CPU; at 150 messages/s per process a 20 ms
# window still published one for every two messages (docs/performance.md).
COALESCE_SECONDS = 0.05


class WakeUp:
    """At most one pending wake-up per process, published shortly after the first commit.

    One long-lived publisher thread per process: Celery keeps its result backend and
    producer pool per thread, and building them again for every wake-up (a thread per
    timer) cost a fifth of a chat server's CPU.
    """

    def __init__(self, publish: Callable[[list[int]], None]) -> None:
        self._publish = publish
        self._ready = threading.Condition()
        self._pending: list[int] = []
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forget_thread)

    def request(self, event_ids: list[int]) -> None:
        with self._ready:
            self._pending.extend(event_ids)
            self._ensure_thread()
            self._ready.notify()

    def _forget_thread(self) -> None:
        """A forked child (a prefork worker) inherits this object but not the thread."""
        self._ready = threading.Condition()
        self._pending, self._thread = [], None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="archive-wake-up", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: bool(self._pending))
            time.sleep(COALESCE_SECONDS)  # let the commits of the next few ms join this one
            with self._ready:
                event_ids, self._pending = self._pending, []
            try:
                self._publish(event_ids)
            except Exception:  # the sweeper archives them; the thread must live on
                logger.exception("archive wake-up for %s failed", event_ids)


def publish_archive_task(event_ids: list[int]) -> None:
    """Ask a worker to archive. Losing this call loses nothing: the beat sweeper archives
    anything still pending a few seconds later."""
    from ..tasks import archive_pending_task

    try:
        archive_pending_task.apply_async(args=(event_ids[:100],), retry=False)
    except Exception:  # a broker outage must not fail the committed write
        logger.warning("archive wake-up not published; the sweeper will archive %s", event_ids)


_wake_up = WakeUp(publish_archive_task)


def archive_kick(event_ids: list[int]) -> None:
    """After an event commits (registered with eim.chat.services.events.after_event_commit)."""
    _wake_up.request(event_ids)


def stale_pending_exists(*, older_than: float) -> bool:
    summary = chat_selectors.events_pending_archive_summary()
    oldest = summary["oldest"]
    return bool(summary["count"]) and oldest <= timezone.now() - timedelta(seconds=older_than)
