"""Running one administrative change and telling the administrator how it is recorded.

Every change is made by the owning app's service, which audits it in its own transaction;
`change_run` collects the sequence numbers of the audit events that committed, so the page or
the API reply can name them (a refusal the role service records is named too)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError

from accounts.errors import RoleError
from audit.services import audit_events_collected, audit_events_kept
from eim.chat.errors import ChatError

T = TypeVar("T")

# What the services raise for a change they refuse; nothing was changed.
REFUSALS = (RoleError, ChatError, PermissionDenied, ValidationError, ValueError, IntegrityError)


@dataclass
class ChangeOutcome(Generic[T]):
    result: T | None
    audit_seqs: list[int] = field(default_factory=list)
    refusal: Exception | None = None

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    @property
    def audit_note(self) -> str:
        if not self.audit_seqs:
            return "nothing needed changing, so nothing was recorded"
        return "audit event " + ", ".join(f"#{seq}" for seq in self.audit_seqs)


def change_run(work: Callable[[], T]) -> ChangeOutcome[T]:
    """Run `work` (one service call); a refusal is caught and returned, never a 500."""
    with audit_events_collected() as recorded:
        try:
            result = work()
        except REFUSALS as exc:
            return ChangeOutcome(result=None, audit_seqs=audit_events_kept(recorded), refusal=exc)
    return ChangeOutcome(result=result, audit_seqs=audit_events_kept(recorded))


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, RoleError | ChatError):
        return exc.detail
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, IntegrityError):
        return "it conflicts with one that exists"
    return str(exc) or "refused"


def refusal_code(exc: Exception) -> str:
    if isinstance(exc, RoleError | ChatError):
        return exc.code.value
    if isinstance(exc, PermissionDenied):
        return "forbidden"
    if isinstance(exc, IntegrityError):
        return "conflict"
    return "invalid_input"


def refusal_status(exc: Exception) -> int:
    if isinstance(exc, RoleError | ChatError):
        return exc.http_status
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, IntegrityError):
        return 409
    return 400
