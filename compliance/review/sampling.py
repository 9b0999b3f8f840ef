"""Daily random sampling: per policy, messages of a day that raised nothing, put in the
queue marked as sampled (FINRA 3110 reviews expect a sample beside the flags).

A policy's `sampling` says how many: `percent` of the day's unflagged messages in its scope,
and at least `per_person` of each supervised author's (when they wrote that many). Each
(policy version, day) is sampled once: a SamplingRun row records it, so the daily task can
run twice or late. Sampling reads archive records, never the live chat.
"""

import math
import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db import IntegrityError, transaction

from archive.selectors import ArchivedEvent, message_records_between
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..scanning.models import Flag, FlagSource, PolicyVersion
from ..scanning.selectors import latest_versions, policy_spec
from ..scanning.stage import ScopeContext
from .models import SamplingRun
from .services import review_items_raise

PAGE = 5000
_random = random.SystemRandom()


def _day_messages(day: date) -> list[ArchivedEvent]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    found: list[ArchivedEvent] = []
    after = 0
    while page := message_records_between(occurred_after=start, after_seq=after, limit=PAGE):
        found += [e for e in page if e.type == "message.new" and e.occurred_at < end]
        after = page[-1].seq
    return found


def _candidates(version: PolicyVersion, events: list[ArchivedEvent]) -> list[ArchivedEvent]:
    spec = policy_spec(version)
    context = ScopeContext(events)
    flagged = set(
        Flag.objects.filter(message_id__in=[e.message_id for e in events]).values_list(
            "message_id", flat=True
        )
    )
    return [
        e
        for e in events
        if e.message_id not in flagged
        and spec.applies(
            author_id=e.actor_id,
            groups=context.groups(e.actor_id),
            conversation_id=e.conversation_id,
            kind=context.kinds.get(e.conversation_id, ""),
        )
    ]


def _draw(
    candidates: list[ArchivedEvent], *, percent: float, per_person: int
) -> list[ArchivedEvent]:
    chosen = set(_random.sample(range(len(candidates)), math.ceil(len(candidates) * percent / 100)))
    by_author: dict[int | None, list[int]] = defaultdict(list)
    for index, event in enumerate(candidates):
        by_author[event.actor_id].append(index)
    for indexes in by_author.values():
        have = [i for i in indexes if i in chosen]
        missing = [i for i in indexes if i not in chosen]
        chosen.update(_random.sample(missing, min(len(missing), max(0, per_person - len(have)))))
    return [candidates[i] for i in sorted(chosen)]


def review_sample_policy(*, version: PolicyVersion, day: date) -> int | None:
    """Sample one policy version's day; None if that day was sampled already."""
    events = _candidates(version, _day_messages(day))
    drawn = _draw(
        events,
        percent=float(version.sampling.get("percent", 0)),
        per_person=int(version.sampling.get("per_person", 0)),
    )
    try:
        with transaction.atomic():
            SamplingRun.objects.create(
                policy_version=version, day=day, sampled=len(drawn), candidates=len(events)
            )
            flags = Flag.objects.bulk_create(
                Flag(
                    archive_seq=e.seq,
                    message_id=e.message_id,
                    conversation_id=e.conversation_id,
                    author_id=e.actor_id,
                    occurred_at=e.occurred_at,
                    source=FlagSource.SAMPLE,
                    policy_version=version,
                )
                for e in drawn
            )
            review_items_raise(flags, sampled=True)
            audit_event_record(
                actor=None,
                event_type=AuditEventType.REVIEW_SAMPLED,
                details={
                    "policy": version.policy.name,
                    "version": version.number,
                    "day": day.isoformat(),
                    "candidates": len(events),
                    "sampled": len(drawn),
                },
            )
    except IntegrityError:
        return None  # another run sampled this day first
    return len(drawn)


def review_sample(*, day: date) -> dict[str, int | None]:
    """Sample `day` for every enabled policy with sampling; policy name -> how many."""
    return {
        version.policy.name: review_sample_policy(version=version, day=day)
        for version in latest_versions()
        if version.enabled
        and version.sampling
        and not SamplingRun.objects.filter(policy_version=version, day=day).exists()
    }
