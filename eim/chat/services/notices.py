"""Notices to one person (a content policy's notify action): written in the writer's
transaction, kept until dismissed, and sent live to the person's open sockets after commit.

The live frame is best effort (a socket that misses it, or a client that was offline, reads
the kept notices through `GET /api/v1/notices/` when it starts or reconnects).
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User

from ..models import UserNotice
from .events import ephemeral_broadcast, user_group

MAX_DISMISS = 200


def notice_frame(notice: UserNotice) -> dict[str, Any]:
    """The socket frame and the API's shape of a notice."""
    return {
        "type": "notice.new",
        "id": notice.pk,
        "kind": notice.kind,
        "created_at": notice.created_at.isoformat(),
        **notice.payload,
    }


def user_notice_create(
    *, user_id: int, key: str, kind: str, payload: dict[str, Any]
) -> UserNotice | None:
    """Write the notice unless one with `key` exists (then None); the caller's transaction."""
    try:
        with transaction.atomic():
            notice = UserNotice.objects.create(user_id=user_id, key=key, kind=kind, payload=payload)
    except IntegrityError:
        return None
    frame = notice_frame(notice)
    message = {"type": "notice.created", "frame": frame}
    transaction.on_commit(lambda: ephemeral_broadcast(user_group(user_id), message), robust=True)
    return notice


def user_notices_dismiss(*, user: User, notice_ids: list[int]) -> int:
    """Dismiss the user's own notices among `notice_ids` (others' are ignored); how many."""
    ids = sorted(set(notice_ids))[:MAX_DISMISS]
    return UserNotice.objects.filter(user=user, pk__in=ids, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now()
    )
