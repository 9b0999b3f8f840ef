"""A policy's notify action: tell the sender, and/or the officers of a reviewer group.

Written by the scanning stage's `after_flags` hook, in the batch's transaction, after the
review items (registered after `review_items_raise`): a flag is written once, and each
notice is keyed by its flag, so a redelivered or resumed scan never notifies twice.

- **The sender** gets a chat notice (`eim.chat.services.notices`): kept until dismissed, sent
  live to their open sockets after the commit. It names the policy and the text it matched,
  as the sender wrote it, and nothing else of the policy (no terms, lexicons or patterns).
- **The reviewers**: the active compliance officers in the policy's reviewer group (an
  `accounts.Group`, read at notify time, so it follows SCIM and console changes), less the
  people who may not review the item (its author and the conversation around it). Each gets
  a `ReviewerNotification` in the workspace list, and an e-mail when EIM_NOTIFY_EMAIL_FROM
  is set. Neither shows the message's text: opening the item is what is audited as a view.

One `policy.notified` audit event per flag says who was told.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from accounts.selectors import active_users_with_role, group_member_ids
from audit.models import AuditEventType
from audit.services import audit_event_record
from eim.chat.services.notices import user_notice_create

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from ..scanning.models import Flag, PolicyVersion
from .models import EmailState, ReviewerNotification, ReviewItem

logger = logging.getLogger(__name__)

MAX_SPANS = 10  # matched spans quoted to the sender, at most
MAX_MARK = 500
EMAIL_ATTEMPTS = 8  # a failed e-mail is tried again after 1, 2, 4 … 64 minutes, then given up


def _items_of(flags: list[Flag]) -> dict[int, ReviewItem]:
    """flag pk -> the review item the flag belongs to."""
    by_message = {
        i.message_id: i
        for i in ReviewItem.objects.filter(message_id__in={f.message_id for f in flags})
    }
    by_record = {
        i.archive_seq: i
        for i in ReviewItem.objects.filter(
            archive_seq__in={f.archive_seq for f in flags if f.message_id is None}
        )
    }
    found = {}
    for flag in flags:
        item = by_message.get(flag.message_id) or by_record.get(flag.archive_seq)
        if item is not None:
            found[flag.pk] = item
    return found


def _sender_notice(flag: Flag, version: PolicyVersion) -> bool:
    if flag.author_id is None:
        return False
    spans = list(dict.fromkeys(str(h.get("text", "")) for h in flag.hits))[:MAX_SPANS]
    payload = {
        "policy": version.policy.name,
        "source": flag.source,
        "conversation": flag.conversation_id,
        "message": flag.message_id,
        "spans": spans,
    }
    notice = user_notice_create(
        user_id=flag.author_id, key=f"policy-flag:{flag.pk}", kind="policy", payload=payload
    )
    return notice is not None


def _reviewers(group_id: int, item: ReviewItem) -> list[User]:
    excluded = {int(p) for p in item.participants} | {item.author_id or 0}
    members = group_member_ids(group_id=group_id) - excluded
    return active_users_with_role(user_ids=members, role=Role.COMPLIANCE_OFFICER)


def _notify_reviewers(flag: Flag, version: PolicyVersion, item: ReviewItem) -> list[int]:
    email = bool(settings.EIM_NOTIFY_EMAIL_FROM)
    rows = [
        ReviewerNotification(
            recipient=user,
            flag=flag,
            item=item,
            policy_version=version,
            email_state=EmailState.PENDING if email and user.email else EmailState.NONE,
        )
        for user in _reviewers(version.notify["reviewers"], item)
    ]
    existing = set(
        ReviewerNotification.objects.filter(flag=flag).values_list("recipient_id", flat=True)
    )
    fresh = [r for r in rows if r.recipient.pk not in existing]
    ReviewerNotification.objects.bulk_create(fresh, ignore_conflicts=True)
    return [r.recipient.pk for r in fresh]


def notifications_raise(flags: list[Flag]) -> None:
    """The after_flags hook: deliver the notify action of every flag whose policy has it."""
    version_ids = {f.policy_version_id for f in flags if f.policy_version_id is not None}
    versions = {
        v.pk: v
        for v in PolicyVersion.objects.filter(pk__in=version_ids).select_related("policy")
        if "notify" in v.actions
    }
    notifying = [f for f in flags if f.policy_version_id in versions]
    if not notifying:
        return
    items = _items_of(notifying)
    emailed = False
    for flag in notifying:
        version = versions[flag.policy_version_id]  # type: ignore[index]
        item = items.get(flag.pk)
        sender = version.notify.get("sender", False) and _sender_notice(flag, version)
        reviewers = (
            _notify_reviewers(flag, version, item)
            if item is not None and version.notify.get("reviewers")
            else []
        )
        emailed = emailed or bool(reviewers and settings.EIM_NOTIFY_EMAIL_FROM)
        if sender or reviewers:
            audit_event_record(
                actor=None,
                event_type=AuditEventType.POLICY_NOTIFIED,
                details={
                    "policy": version.policy.name,
                    "version": version.number,
                    "archive_seq": flag.archive_seq,
                    "message_id": flag.message_id,
                    "item": item.pk if item else None,
                    "sender": flag.author_id if sender else None,
                    "reviewer_group": version.notify.get("reviewers"),
                    "reviewers": reviewers,
                },
            )
    if emailed:
        transaction.on_commit(_email_kick, robust=True)


def _email_kick() -> None:
    from .tasks import notify_email_task

    notify_email_task.delay()


def _email_one(notification: ReviewerNotification) -> None:
    version = notification.policy_version
    link = f"{settings.EIM_PUBLIC_URL.rstrip('/')}/compliance/review/#item-{notification.item_id}"
    send_mail(
        subject=f"[eim] Policy “{version.policy.name}” raised a review item",
        message=(
            f"The content policy “{version.policy.name}” (version {version.number}) matched "
            f"a message and notifies your reviewer group.\n\nOpen the review item: {link}\n\n"
            "The message itself is shown in the compliance workspace only."
        ),
        from_email=settings.EIM_NOTIFY_EMAIL_FROM,
        recipient_list=[notification.recipient.email],
    )


def _email_retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failure an e-mail is tried again: 1, 2, 4 … minutes."""
    return timedelta(minutes=2 ** (attempts - 1))


def _email_failed(row: ReviewerNotification) -> None:
    """Count a failed try: pending again after a growing delay, or failed for good."""
    row.email_attempts += 1
    if row.email_attempts >= EMAIL_ATTEMPTS:
        row.email_state = EmailState.FAILED
        row.email_retry_at = None
        logger.error("e-mailing notification %s failed %s times: given up", row.pk, EMAIL_ATTEMPTS)
    else:
        row.email_retry_at = timezone.now() + _email_retry_delay(row.email_attempts)


def _emails_due() -> Any:
    """The pending e-mails whose next try is due (a first try is due at once)."""
    due = Q(email_retry_at__isnull=True) | Q(email_retry_at__lte=timezone.now())
    return ReviewerNotification.objects.filter(due, email_state=EmailState.PENDING)


def notifications_email_pending(*, limit: int = 200) -> int:
    """Send the pending e-mails that are due (the task after a scan, and a beat sweeper); how
    many sent. Each row is locked while its mail goes, so two workers never send the same one;
    a failed one is tried again later (`_email_failed`)."""
    sent = 0
    for pk in list(_emails_due().order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            row = (
                _emails_due()
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient", "policy_version__policy")
                .filter(pk=pk)
                .first()
            )
            if row is None:
                continue
            try:
                _email_one(row)
            except Exception:
                logger.exception("e-mailing notification %s failed", pk)
                _email_failed(row)
            else:
                row.email_state = EmailState.SENT
                row.email_retry_at = None
                sent += 1
            row.save(update_fields=["email_state", "email_attempts", "email_retry_at"])
    return sent


def notifications_for_officer(
    *, user: User, unread_only: bool = False, limit: int = 50
) -> dict[str, Any]:
    """The officer's notifications, newest first, and how many are unread."""
    require_compliance_officer(user=user)
    mine = ReviewerNotification.objects.filter(recipient=user)
    unread = mine.filter(read_at__isnull=True).count()
    if unread_only:
        mine = mine.filter(read_at__isnull=True)
    rows = mine.select_related("policy_version__policy", "flag", "item").order_by(
        "-created_at", "-pk"
    )[:limit]
    return {"unread": unread, "notifications": [notification_json(n) for n in rows]}


def notification_json(notification: ReviewerNotification) -> dict[str, Any]:
    version = notification.policy_version
    return {
        "id": notification.pk,
        "policy": version.policy.name,
        "policy_version": version.number,
        "item": notification.item_id,
        "source": notification.flag.source,
        "conversation": notification.flag.conversation_id,
        "occurred_at": notification.flag.occurred_at.isoformat(),
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }


def notifications_mark_read(*, user: User, ids: list[int] | None) -> int:
    """Mark the officer's own notifications read: `ids`, or all of them when None."""
    require_compliance_officer(user=user)
    if ids is not None and not 0 < len(ids) <= MAX_MARK:
        raise ComplianceError(
            ComplianceErrorCode.INVALID_INPUT,
            f"give 1 to {MAX_MARK} notification ids, or mark all",
        )
    mine = ReviewerNotification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        mine = mine.filter(pk__in=ids)
    return mine.update(read_at=timezone.now())
