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


def _per_reviewer(since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    steps = ReviewStep.objects.filter(kind=ReviewStepKind.DECISION, at__gte=since, at__lt=until)
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for username, decision in steps.values_list("actor__username", "decision"):
        rows[username or "?"][decision] += 1
        rows[username or "?"]["reviewed"] += 1
    return {name: dict(counts) for name, counts in sorted(rows.items())}


def _per_policy(since: datetime, until: datetime) -> tuple[dict[str, Any], dict[str, int]]:
    flags = Flag.objects.filter(created_at__gte=since, created_at__lt=until)
    policies: dict[str, Counter[str]] = defaultdict(Counter)
    terms: Counter[str] = Counter()
    rows = flags.values_list("source", "policy_version__policy__name", "hits")
    for source, name, hits in rows:
        key = name or source
        policies[key]["sampled" if source == FlagSource.SAMPLE else "flags"] += 1
        for hit in hits:
            if hit.get("kind") in ("term", "near"):
                terms[f"{key}: {hit['term']}"] += 1
    return {k: dict(v) for k, v in sorted(policies.items())}, dict(terms.most_common())


@transaction.atomic
def review_report(*, user: User, start: date, end: date) -> dict[str, Any]:
    require_compliance_officer(user=user)
    since, until = _bounds(start, end)
    now = timezone.now()
    policies, terms = _per_policy(since, until)
    report = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "made_at": now.isoformat(),
        "queues": _per_queue(since, until, now),
        "reviewers": _per_reviewer(since, until),
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
