"""Reads of the review queue, scoped to the reviewer: items they may not review (their own
messages, conversations they wrote in around the record) are left out of their queue."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from archive.selectors import (
    archived_event,
    conversation_message_events,
    conversation_names,
    member_usernames,
)

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from ..scanning.models import Flag, FlagSource
from ..scanning.selectors import flag_json, flags_of
from .models import ReviewItem, ReviewQueue, ReviewState

CONTEXT_SHOWN = 5


@dataclass
class MessageFacts:
    flagged: bool = False
    policies: set[str] = field(default_factory=set)
    states: set[str] = field(default_factory=set)


MAX_PAGE = 200


def review_facts(*, message_ids: Iterable[int]) -> dict[int, MessageFacts]:
    """What search knows of each message's scanning and review: whether a policy flagged it
    (a sample is not a flag), which policies, and its item's state, queue and decision."""
    ids = set(message_ids)
    facts: dict[int, MessageFacts] = {}
    flags = Flag.objects.filter(message_id__in=ids).exclude(source=FlagSource.SAMPLE)
    for message_id, name in flags.values_list("message_id", "policy_version__policy__name"):
        known = facts.setdefault(int(message_id or 0), MessageFacts())
        known.flagged = True
        if name:
            known.policies.add(name.lower())
    items = ReviewItem.objects.filter(message_id__in=ids)
    for item in items.values("message_id", "state", "queue", "decision", "sampled"):
        known = facts.setdefault(int(item["message_id"] or 0), MessageFacts())
        known.states |= _states(dict(item))
    return facts


def _states(item: dict[str, Any]) -> set[str]:
    states = {item["state"]}
    if item["state"] != ReviewState.CLOSED:
        states.add("open")
        if item["queue"] == ReviewQueue.ESCALATED:
            states.add("escalated")
    if item["decision"]:
        states.add(item["decision"])
    if item["sampled"]:
        states.add("sampled")
    return states


def reviewable_items(*, user: User) -> QuerySet[ReviewItem]:
    return ReviewItem.objects.exclude(author_id=user.pk).exclude(participants__contains=[user.pk])


def item_summary(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "archive_seq": item.archive_seq,
        "message_id": item.message_id,
        "conversation_id": item.conversation_id,
        "author_id": item.author_id,
        "occurred_at": item.occurred_at.isoformat(),
        "raised_at": item.created_at.isoformat(),
        "sampled": item.sampled,
        "queue": item.queue,
        "state": item.state,
        "claimed_by": item.claimed_by.get_username() if item.claimed_by else None,
        "decision": item.decision or None,
    }


def review_queue(
    *, user: User, queue: str = ReviewQueue.FIRST, state: str = "open", limit: int = 50
) -> list[dict[str, Any]]:
    """The reviewer's queue, oldest first: `open` (new and claimed), or one state; queue
    `all` takes both levels (the closed items, say)."""
    require_compliance_officer(user=user)
    if queue not in [*ReviewQueue.values, "all"] or state not in [*ReviewState.values, "open"]:
        raise ComplianceError(ComplianceErrorCode.INVALID_INPUT, "no such queue or state")
    states: list[str] = [ReviewState.NEW, ReviewState.CLAIMED] if state == "open" else [state]
    items = (
        reviewable_items(user=user)
        .filter(Q() if queue == "all" else Q(queue=queue), state__in=states)
        .select_related("claimed_by")
        .order_by("created_at", "pk")[: max(1, min(limit, MAX_PAGE))]
    )
    return [{**item_summary(i), **_listing(i)} for i in items]


def _listing(item: ReviewItem) -> dict[str, Any]:
    """What a queue row shows: the policies that raised it, who wrote it, the start of it."""
    flags = flags_of(message_id=item.message_id, archive_seq=item.archive_seq)
    event = archived_event(seq=item.archive_seq)
    text = ""
    author = None
    if event is not None:
        attempt = event.payload.get("attempt") or {}
        text = str(event.message.get("body") or attempt.get("body") or "")
        author = (event.message.get("author") or {}).get("username")
    return {
        "policies": sorted({flag_json(f)["policy"] or f.source for f in flags}),
        "author": author,
        "preview": text[:200],
        "blocked": any(f.source == "blocked" for f in flags),
    }


def _context(item: ReviewItem) -> dict[str, list[dict[str, Any]]]:
    def shape(events: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "archive_seq": e.seq,
                "author_id": e.actor_id,
                "author": (e.message.get("author") or {}).get("username"),
                "body": e.message.get("body", ""),
                "occurred_at": e.occurred_at.isoformat(),
            }
            for e in events
        ]

    around = {"conversation_id": item.conversation_id, "limit": CONTEXT_SHOWN}
    return {
        "before": shape(conversation_message_events(before_seq=item.archive_seq, **around)),
        "after": shape(conversation_message_events(after_seq=item.archive_seq, **around)),
    }


def _conversation(item: ReviewItem) -> dict[str, Any]:
    """Where the item is, as the archive recorded it up to the item: a channel's name (''
    for a direct message) and the usernames of everyone who had joined it by then."""
    ids, seq = [item.conversation_id], item.archive_seq
    return {
        "id": item.conversation_id,
        "name": conversation_names(conversation_ids=ids, up_to_seq=seq)[item.conversation_id],
        "members": sorted(member_usernames(conversation_ids=ids, up_to_seq=seq).values()),
    }


def item_detail(item: ReviewItem) -> dict[str, Any]:
    """The item with every flagged version's text and hits, the conversation around it, and
    its history."""
    versions = []
    for flag in flags_of(message_id=item.message_id, archive_seq=item.archive_seq):
        event = archived_event(seq=flag.archive_seq)
        attempt = event.payload.get("attempt") or {} if event else {}
        text = (event.message.get("body") if event else None) or attempt.get("body", "")
        versions.append({**flag_json(flag), "text": text})
    steps = item.steps.select_related("actor").order_by("at", "pk")
    return {
        **item_summary(item),
        "conversation": _conversation(item),
        "flags": versions,
        "context": _context(item),
        "steps": [
            {
                "kind": s.kind,
                "actor": s.actor.get_username() if s.actor else None,
                "queue": s.queue,
                "decision": s.decision or None,
                "comment": s.comment,
                "at": s.at.isoformat(),
            }
            for s in steps
        ],
    }
