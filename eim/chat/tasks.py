from celery import shared_task

from .barriers.sweep import barrier_sweep
from .services.housekeeping import presence_sessions_expire, staged_attachments_discard


@shared_task(name="chat.presence_sessions_expire")
def presence_sessions_expire_task() -> int:
    return presence_sessions_expire()


@shared_task(name="chat.staged_attachments_discard")
def staged_attachments_discard_task() -> int:
    return staged_attachments_discard()


@shared_task(name="chat.barrier_sweep")
def barrier_sweep_task() -> int:
    """Mend violations of the barriers in force that slipped past the checks (idempotent)."""
    return len(barrier_sweep())
