"""Periodic clean-up of state that a crash or an abandoned upload can leave behind."""

from datetime import timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from ..models import Attachment, PresenceSession
from .presence import PRESENCE_TTL

STAGED_UPLOAD_TTL = timedelta(hours=24)


def presence_sessions_expire() -> int:
    """Forget sockets that stopped pinging (their server died without a disconnect)."""
    cutoff = timezone.now() - PRESENCE_TTL
    deleted, _ = PresenceSession.objects.filter(last_seen__lt=cutoff).delete()
    return deleted


def staged_attachments_discard() -> int:
    """Delete uploads never sent in a message: nobody but the uploader ever saw them."""
    cutoff = timezone.now() - STAGED_UPLOAD_TTL
    count = 0
    for attachment in Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff):
        with transaction.atomic():
            locked = Attachment.objects.select_for_update().filter(
                pk=attachment.pk, message__isnull=True
            )
            if not locked.exists():
                continue  # sent in a message while we looked
            locked.delete()
            transaction.on_commit(partial(attachment.file.storage.delete, attachment.file.name))
            count += 1
    return count
