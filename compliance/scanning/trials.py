"""Trying a draft policy before it is switched on: the test box and the back-test.

Neither writes a flag; both are audited (an officer's back-test reads the archive)."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from archive.selectors import ArchivedEvent, message_records_between
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from .compiled import PolicySet
from .policies import PolicyInvalidError, PolicySpec, conditions_check, scope_check
from .stage import ScopeContext

BACKTEST_PAGE = 2000
BACKTEST_MAX_RECORDS = 200_000
BACKTEST_EXAMPLES = 20


def _draft(conditions: object, scope: object = None) -> PolicySet:
    try:
        spec = PolicySpec(
            version_id=0,
            name="draft",
            version=0,
            actions=("flag",),
            conditions=conditions_check(conditions),
            scope=scope_check(scope or {}),
        )
    except PolicyInvalidError as exc:
        raise ComplianceError(ComplianceErrorCode.INVALID_POLICY, str(exc)) from exc
    return PolicySet([spec])


@transaction.atomic
def policy_test(*, user: User, conditions: object, text: str) -> dict[str, Any]:
    """What a sample text would hit under a draft policy (the test box)."""
    require_compliance_officer(user=user)
    hits = _draft(conditions).scan(text).get(0, [])
    audit_event_record(
        actor=user,
        event_type=AuditEventType.POLICY_TESTED,
        details={"kind": "test box", "conditions": conditions, "hits": len(hits)},
    )
    return {"hits": [h.as_json() for h in hits]}


@dataclass
class _Tally:
    scanned: int = 0
    messages: set[int | None] = field(default_factory=set)
    terms: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, draft: PolicySet, page: list[ArchivedEvent]) -> None:
        context = ScopeContext(page)
        spec = draft.specs[0]
        for event in page:
            hits = draft.scan(str(event.message.get("body") or "")).get(0, [])
            if hits and spec.applies(
                author_id=event.actor_id,
                groups=context.groups(event.actor_id),
                conversation_id=event.conversation_id,
                kind=context.kinds.get(event.conversation_id, ""),
            ):
                self.messages.add(event.message_id)
                self.terms.update(h.term for h in hits)
                if len(self.examples) < BACKTEST_EXAMPLES:
                    found = [h.as_json() for h in hits]
                    self.examples.append({"archive_seq": event.seq, "hits": found})
        self.scanned += len(page)


@transaction.atomic
def policy_backtest(
    *, user: User, conditions: object, scope: object = None, days: int = 7
) -> dict[str, Any]:
    """How many items a draft policy would have raised over the last `days` of the archive
    (every message version archived then), with hit counts per term and a few examples."""
    require_compliance_officer(user=user)
    draft = _draft(conditions, scope)
    since = timezone.now() - timedelta(days=days)
    tally, after_seq = _Tally(), 0
    while tally.scanned < BACKTEST_MAX_RECORDS:
        page = message_records_between(
            occurred_after=since, after_seq=after_seq, limit=BACKTEST_PAGE
        )
        if not page:
            break
        tally.add(draft, page)
        after_seq = page[-1].seq
    audit_event_record(
        actor=user,
        event_type=AuditEventType.POLICY_TESTED,
        details={
            "kind": "back-test",
            "conditions": conditions,
            "days": days,
            "items": len(tally.messages),
        },
    )
    return {
        "days": days,
        "records_scanned": tally.scanned,
        "complete": tally.scanned < BACKTEST_MAX_RECORDS,
        "items": len(tally.messages),
        "terms": dict(tally.terms.most_common()),
        "examples": tally.examples,
    }
