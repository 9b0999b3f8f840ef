"""Reports per period: items raised, reviewed and open, with their age, per queue, per
reviewer and per policy, and hit counts per lexicon term (to prune noisy terms); as JSON or
CSV. Making one is audited."""

import csv
import io
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from ..scanning.models import Flag, FlagSource
from .models import ReviewItem, ReviewState, ReviewStep, ReviewStepKind

MAX_DAYS = 366


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start or (end - start).days >= MAX_DAYS:
        raise ComplianceError(
            ComplianceErrorCode.INVALID_INPUT, f"a period runs forward, {MAX_DAYS} days at most"
        )
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _ages(items: list[ReviewItem], now: datetime) -> dict[str, float | None]:
    hours = [(now - i.created_at).total_seconds() / 3600 for i in items]
    return {
        "open": len(hours),
        "median_age_hours": round(median(hours), 1) if hours else None,
        "oldest_age_hours": round(max(hours), 1) if hours else None,
    }


def _per_queue(since: datetime, until: datetime, now: datetime) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for queue in ("first", "escalated"):
        raised = ReviewItem.objects.filter(created_at__gte=since, created_at__lt=until)
        decided = ReviewStep.objects.filter(
            kind=ReviewStepKind.DECISION, queue=queue, at__gte=since, at__lt=until
        )
        still_open = ReviewItem.objects.filter(queue=queue).exclude(state=ReviewState.CLOSED)
        rows[queue] = {
            "raised": raised.filter(queue=queue).count()
            if queue == "escalated"
            else raised.count(),
            "reviewed": decided.count(),
            **_ages(list(still_open), now),
        }
    return rows


def _per_reviewer(since: datetime, until: datetime, now: datetime) -> dict[str, dict[str, Any]]:
    """Decisions in the period per reviewer, and the items they hold claimed now (age)."""
    steps = ReviewStep.objects.filter(kind=ReviewStepKind.DECISION, at__gte=since, at__lt=until)
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for username, decision in steps.values_list("actor__username", "decision"):
        rows[username or "?"][decision] += 1
        rows[username or "?"]["reviewed"] += 1
    claimed: dict[str, list[ReviewItem]] = defaultdict(list)
    held = ReviewItem.objects.filter(state=ReviewState.CLAIMED).select_related("claimed_by")
    for item in held:
        claimed[item.claimed_by.get_username() if item.claimed_by else "?"].append(item)
    for name, items in claimed.items():
        ages = _ages(items, now)
        rows[name]["claimed_open"] = ages["open"]
        rows[name]["oldest_claimed_age_hours"] = ages["oldest_age_hours"]
    return {name: dict(counts) for name, counts in sorted(rows.items())}


def _policies_of_items(items: list[ReviewItem]) -> dict[int, set[str]]:
    """item id -> the names of the policies (or "sample") whose flags raised it."""
    by_message = {i.message_id: i.pk for i in items if i.message_id is not None}
    by_record = {i.archive_seq: i.pk for i in items if i.message_id is None}
    flags = Flag.objects.filter(message_id__in=by_message) | Flag.objects.filter(
        message_id__isnull=True, archive_seq__in=by_record
    )
    found: dict[int, set[str]] = defaultdict(set)
    rows = flags.values_list("message_id", "archive_seq", "source", "policy_version__policy__name")
    for message_id, seq, source, name in rows:
        item_id = by_message.get(message_id) if message_id is not None else by_record.get(seq)
        if item_id is not None:
            found[item_id].add(name or source)
    return found


def _items_per_policy(since: datetime, until: datetime, now: datetime) -> dict[str, dict[str, Any]]:
    """Items raised in the period, decided in it, and open now (with age), per policy."""
    raised = list(ReviewItem.objects.filter(created_at__gte=since, created_at__lt=until))
    still_open = list(ReviewItem.objects.exclude(state=ReviewState.CLOSED))
    decided_ids = list(
        ReviewStep.objects.filter(
            kind=ReviewStepKind.DECISION, at__gte=since, at__lt=until
        ).values_list("item_id", flat=True)
    )
    decided = {i.pk: i for i in ReviewItem.objects.filter(pk__in=set(decided_ids))}
    policies = _policies_of_items([*raised, *still_open, *decided.values()])
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {"raised": 0, "reviewed": 0})
    for item in raised:
        for name in policies.get(item.pk, ()):
            rows[name]["raised"] += 1
    for item_id in decided_ids:
        for name in policies.get(item_id, ()):
            rows[name]["reviewed"] += 1
    open_by_policy: dict[str, list[ReviewItem]] = defaultdict(list)
    for item in still_open:
        for name in policies.get(item.pk, ()):
            open_by_policy[name].append(item)
    for name in set(rows) | set(open_by_policy):
        rows[name].update(_ages(open_by_policy.get(name, []), now))
    return rows


def _per_policy(
    since: datetime, until: datetime, now: datetime
) -> tuple[dict[str, Any], dict[str, int]]:
    flags = Flag.objects.filter(created_at__gte=since, created_at__lt=until)
    policies: dict[str, dict[str, Any]] = _items_per_policy(since, until, now)
    terms: Counter[str] = Counter()
    rows = flags.values_list("source", "policy_version__policy__name", "hits")
    for source, name, hits in rows:
        key = name or source
        measure = "sampled" if source == FlagSource.SAMPLE else "flags"
        policies[key][measure] = policies[key].get(measure, 0) + 1
        for hit in hits:
            if hit.get("kind") in ("term", "near"):
                terms[f"{key}: {hit['term']}"] += 1
    return {k: dict(v) for k, v in sorted(policies.items())}, dict(terms.most_common())


@transaction.atomic
def review_report(*, user: User, start: date, end: date) -> dict[str, Any]:
    require_compliance_officer(user=user)
    since, until = _bounds(start, end)
    now = timezone.now()
    policies, terms = _per_policy(since, until, now)
    report = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "made_at": now.isoformat(),
        "queues": _per_queue(since, until, now),
        "reviewers": _per_reviewer(since, until, now),
        "policies": policies,
        "terms": terms,
    }
    audit_event_record(
        actor=user,
        event_type=AuditEventType.REVIEW_REPORT_MADE,
        details={"start": report["start"], "end": report["end"]},
    )
    return report


def report_csv(report: dict[str, Any]) -> str:
    """One row per figure: section, name, measure, value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "name", "measure", "value"])
    for section in ("queues", "reviewers", "policies"):
        for name, figures in report[section].items():
            for measure, value in figures.items():
                writer.writerow([section, name, measure, "" if value is None else value])
    for term, count in report["terms"].items():
        writer.writerow(["terms", term, "hits", count])
    return out.getvalue()
