"""Compliance tasks: thin, idempotent callers of one service each."""

import logging

from celery import shared_task

from .search.indexing import index_pending, search_rewrites_sweep

logger = logging.getLogger(__name__)


@shared_task(name="compliance.index_records", soft_time_limit=120, time_limit=240)
def index_records_task(first_seq: int, last_seq: int) -> int:
    """Index what was archived; (first_seq, last_seq) only says which batch woke us.

    Indexing resumes from the index state, so a redelivered or late task indexes nothing
    twice and a range whose task was lost is picked up by the next task or the sweeper.
    """
    return index_pending()


@shared_task(name="compliance.index_sweep", soft_time_limit=120, time_limit=240)
def index_sweep_task() -> int:
    """Beat: index archived records whose task never ran (broker down, worker lost)."""
    indexed = index_pending()
    if indexed:
        logger.info("search index sweep indexed %s archive records", indexed)
    return indexed


@shared_task(name="compliance.search_rewrite_sweep", soft_time_limit=120, time_limit=240)
def search_rewrite_sweep_task() -> int:
    """Beat: rewrite the search documents whose rewrite after a review change was lost."""
    rewritten = search_rewrites_sweep()
    if rewritten:
        logger.info("search rewrite sweep rewrote %s messages' documents", rewritten)
    return rewritten


def index_kick(first_seq: int, last_seq: int) -> None:
    """The after_archive hook: ask a worker to index. Losing this call loses nothing."""
    try:
        index_records_task.apply_async(args=(first_seq, last_seq), retry=False)
    except Exception:  # a broker outage must not fail the archiving that just committed
        logger.warning("index task for %s..%s not published; the sweeper will", first_seq, last_seq)


# The capability packages' tasks, registered with the worker (it discovers compliance.tasks).
from .review import tasks as review_tasks  # noqa: E402, F401
from .scanning import tasks as scanning_tasks  # noqa: E402, F401
