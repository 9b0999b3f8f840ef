"""The review workflow: raise, claim, release, decide (with a comment), escalate, reopen.

Every step is a ReviewStep row and an audit event in the step's transaction. Opening an
item is recorded as a view, never as a review: only a decision is. Nobody reviews their own
messages, nor a conversation they wrote in around the flagged record (`CONTEXT` messages
either side); such items are left to another reviewer.
"""

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from archive.selectors import conversation_message_events
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from ..scanning.models import Flag
from .models import Decision, ReviewItem, ReviewQueue, ReviewState, ReviewStep, ReviewStepKind
from .selectors import item_detail, reviewable_items

CONTEXT = 10  # messages either side of the record that make their authors participants
MAX_BULK = 200

# Called in the transaction with the message ids whose item was raised or changed (search
# registers here, to rewrite those messages' documents after the commit).
_change_hooks: list[Callable[[list[int]], object]] = []


def after_review_change(hook: Callable[[list[int]], object]) -> None:
    if hook not in _change_hooks:
        _change_hooks.append(hook)


def _changed(items: Iterable[ReviewItem]) -> None:
    message_ids = sorted({i.message_id for i in items if i.message_id is not None})
    if message_ids:
        for hook in _change_hooks:
            hook(message_ids)


def participants_around(*, conversation_id: int, archive_seq: int) -> set[int]:
    before = conversation_message_events(
        conversation_id=conversation_id, before_seq=archive_seq, limit=CONTEXT
    )
    after = conversation_message_events(
        conversation_id=conversation_id, after_seq=archive_seq, limit=CONTEXT
    )
    return {e.actor_id for e in [*before, *after] if e.actor_id is not None}


def _item_key(flag: Flag) -> tuple[str, int]:
    return (
        ("message", flag.message_id)
        if flag.message_id is not None
        else ("record", flag.archive_seq)
    )


def review_items_raise(flags: list[Flag], *, sampled: bool = False) -> list[ReviewItem]:
    """The after_flags hook: one item per message (or per record without one). A new flag
    on a closed item (a later edit hit a policy) reopens it."""
    firsts: dict[tuple[str, int], Flag] = {}
    for flag in sorted(flags, key=lambda f: f.archive_seq):
        firsts.setdefault(_item_key(flag), flag)
    items = []
    for flag in firsts.values():
        item = _item_for(flag)
        if item is None:
            people = participants_around(
                conversation_id=flag.conversation_id, archive_seq=flag.archive_seq
            )
            item = ReviewItem.objects.create(
                archive_seq=flag.archive_seq,
                message_id=flag.message_id,
                conversation_id=flag.conversation_id,
                author_id=flag.author_id,
                occurred_at=flag.occurred_at,
                sampled=sampled,
                participants=sorted(people | ({flag.author_id} if flag.author_id else set())),
            )
        elif item.state == ReviewState.CLOSED and not sampled:
            _reopen(
                item,
                actor=None,
                reason=f"a later version raised a flag (record {flag.archive_seq})",
            )
        items.append(item)
    _changed(items)
    return items


def _item_for(flag: Flag) -> ReviewItem | None:
    if flag.message_id is not None:
        return ReviewItem.objects.select_for_update().filter(message_id=flag.message_id).first()
    return ReviewItem.objects.select_for_update().filter(archive_seq=flag.archive_seq).first()


def _locked_item(item_id: int) -> ReviewItem:
    item = ReviewItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no such review item")
    return item


def require_independent(*, user: User, item: ReviewItem) -> None:
    """Refuse a reviewer who wrote the record or in the conversation around it."""
    people = set(item.participants) | {item.author_id}
    people |= participants_around(
        conversation_id=item.conversation_id, archive_seq=item.archive_seq
    )
    if user.pk in people:
        raise ComplianceError(
            ComplianceErrorCode.SELF_REVIEW,
            "you took part in this conversation around the flagged message: "
            "another reviewer must review it",
        )


def _step(item: ReviewItem, kind: ReviewStepKind, actor: User | None, **fields: Any) -> None:
    ReviewStep.objects.create(item=item, kind=kind, actor=actor, queue=item.queue, **fields)
    _changed([item])


def _audit(
    actor: User | None, event_type: AuditEventType, item: ReviewItem, **details: Any
) -> None:
    audit_event_record(
        actor=actor,
        event_type=event_type,
        details={
            "item": item.pk,
            "archive_seq": item.archive_seq,
            "message_id": item.message_id,
            "queue": item.queue,
            **details,
        },
    )


def _claim(item: ReviewItem, user: User) -> None:
    if item.state == ReviewState.CLOSED:
        raise ComplianceError(ComplianceErrorCode.REVIEW_CONFLICT, "this item is closed")
    if item.state == ReviewState.CLAIMED and item.claimed_by_id != user.pk:
        raise ComplianceError(
            ComplianceErrorCode.REVIEW_CONFLICT, "another reviewer has claimed this item"
        )
    require_independent(user=user, item=item)
    if item.state == ReviewState.CLAIMED:
        return
    if (
        item.queue == ReviewQueue.ESCALATED
        and item.steps.filter(
            kind=ReviewStepKind.DECISION, decision=Decision.ESCALATED, actor=user
        ).exists()
    ):
        raise ComplianceError(
            ComplianceErrorCode.SELF_REVIEW, "you escalated this item: a second reviewer decides it"
        )
    item.state, item.claimed_by, item.claimed_at = ReviewState.CLAIMED, user, timezone.now()
    item.save(update_fields=["state", "claimed_by", "claimed_at"])
    _step(item, ReviewStepKind.CLAIM, user)
    _audit(user, AuditEventType.REVIEW_CLAIMED, item)


@transaction.atomic
def review_item_claim(*, user: User, item_id: int) -> ReviewItem:
    require_compliance_officer(user=user)
    item = _locked_item(item_id)
    _claim(item, user)
    return item


def _release(item: ReviewItem, actor: User | None, reason: str) -> None:
    item.state, item.claimed_by, item.claimed_at = ReviewState.NEW, None, None
    item.save(update_fields=["state", "claimed_by", "claimed_at"])
    _step(item, ReviewStepKind.RELEASE, actor, comment=reason)
    _audit(actor, AuditEventType.REVIEW_RELEASED, item, reason=reason)


@transaction.atomic
def review_item_release(*, user: User, item_id: int) -> ReviewItem:
    require_compliance_officer(user=user)
    item = _locked_item(item_id)
    if item.state != ReviewState.CLAIMED or item.claimed_by_id != user.pk:
        raise ComplianceError(ComplianceErrorCode.REVIEW_CONFLICT, "you have not claimed this item")
    _release(item, user, "released by the reviewer")
    return item


def review_claims_expire() -> int:
    """Release claims older than EIM_REVIEW_CLAIM_MINUTES (a reviewer who walked away)."""
    cutoff = timezone.now() - timedelta(minutes=settings.EIM_REVIEW_CLAIM_MINUTES)
    released = 0
    stale = ReviewItem.objects.filter(state=ReviewState.CLAIMED, claimed_at__lt=cutoff)
    for item_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            item = _locked_item(item_id)
            if item.state == ReviewState.CLAIMED and item.claimed_at and item.claimed_at < cutoff:
                _release(item, None, "claim timed out")
                released += 1
    return released


def _check_decision(decision: object, comment: object) -> tuple[Decision, str]:
    if decision not in Decision.values:
        raise ComplianceError(
            ComplianceErrorCode.INVALID_INPUT, f"decision is one of {', '.join(Decision.values)}"
        )
    if not isinstance(comment, str) or not comment.strip():
        raise ComplianceError(ComplianceErrorCode.INVALID_INPUT, "a decision needs a comment")
    return Decision(str(decision)), comment.strip()[:4000]


def _decide(item: ReviewItem, user: User, decision: Decision, comment: str) -> None:
    _claim(item, user)  # a decision on a new item claims it first (and checks independence)
    _step(item, ReviewStepKind.DECISION, user, decision=decision, comment=comment)
    if decision == Decision.ESCALATED:
        _audit(user, AuditEventType.REVIEW_ESCALATED, item, comment=comment)
        item.queue, item.state = ReviewQueue.ESCALATED, ReviewState.NEW
        item.claimed_by = item.claimed_at = None
        item.save(update_fields=["queue", "state", "claimed_by", "claimed_at"])
        return
    item.state, item.decision = ReviewState.CLOSED, decision
    item.decided_by, item.decided_at = user, timezone.now()
    item.save(update_fields=["state", "decision", "decided_by", "decided_at"])
    _audit(user, AuditEventType.REVIEW_DECIDED, item, decision=decision.value, comment=comment)


@transaction.atomic
def review_item_decide(
    *, user: User, item_id: int, decision: object, comment: object
) -> ReviewItem:
    require_compliance_officer(user=user)
    checked, text = _check_decision(decision, comment)
    item = _locked_item(item_id)
    _decide(item, user, checked, text)
    return item


@transaction.atomic
def review_items_decide(
    *, user: User, item_ids: Iterable[int], decision: object, comment: object
) -> list[ReviewItem]:
    """One decision on many items, recorded per item; all or none (any refusal refuses all)."""
    require_compliance_officer(user=user)
    checked, text = _check_decision(decision, comment)
    ids = sorted(set(item_ids))
    if not ids or len(ids) > MAX_BULK:
        raise ComplianceError(ComplianceErrorCode.INVALID_INPUT, f"1 to {MAX_BULK} items at once")
    items = [_locked_item(item_id) for item_id in ids]  # locked in id order
    for item in items:
        _decide(item, user, checked, text)
    return items


def _reopen(item: ReviewItem, *, actor: User | None, reason: str) -> None:
    item.state, item.decision = ReviewState.NEW, ""
    item.decided_by = item.decided_at = item.claimed_by = item.claimed_at = None
    item.save(
        update_fields=["state", "decision", "decided_by", "decided_at", "claimed_by", "claimed_at"]
    )
    _step(item, ReviewStepKind.REOPEN, actor, comment=reason)
    _audit(actor, AuditEventType.REVIEW_REOPENED, item, reason=reason)


@transaction.atomic
def review_item_reopen(*, user: User, item_id: int, reason: object) -> ReviewItem:
    require_compliance_officer(user=user)
    if not isinstance(reason, str) or not reason.strip():
        raise ComplianceError(ComplianceErrorCode.INVALID_INPUT, "reopening needs a reason")
    item = _locked_item(item_id)
    if item.state != ReviewState.CLOSED:
        raise ComplianceError(ComplianceErrorCode.REVIEW_CONFLICT, "only a closed item is reopened")
    _reopen(item, actor=user, reason=reason.strip()[:4000])
    return item


@transaction.atomic
def review_item_open(*, user: User, item_id: int) -> dict[str, Any]:
    """Show an item: recorded as a view (who saw which message), never as a review."""
    require_compliance_officer(user=user)
    item = reviewable_items(user=user).filter(pk=item_id).select_related("claimed_by").first()
    if item is None:
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no such review item in your queue")
    _audit(user, AuditEventType.REVIEW_VIEWED, item)
    return item_detail(item)
