from celery import shared_task

from .services.housekeeping import presence_sessions_expire, staged_attachments_discard


@shared_task(name="chat.presence_sessions_expire")
def presence_sessions_expire_task() -> int:
    return presence_sessions_expire()


@shared_task(name="chat.staged_attachments_discard")
def staged_attachments_discard_task() -> int:
    return staged_attachments_discard()
