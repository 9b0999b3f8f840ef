"""Role grants and revocations: the one write path, with the separation-of-duties rules.

The REST API, the management commands and Django's admin all call these functions; nothing
else writes a RoleGrant or a RoleRequest. The rules (docs/roles.md):

- only an active administrator requests, approves, refuses or revokes a role; a Django
  superuser flag counts for nothing;
- nobody acts on their own roles;
- administrator, compliance officer and auditor take effect only when a second administrator
  approves (approver, requester and subject are three different people) before the request
  expires (EIM_ROLE_APPROVAL_TTL_HOURS); employee takes effect at once;
- administrator, compliance officer and auditor exclude one another: whoever watches a duty
  does not also perform it;
- the first administrators come from `role_bootstrap`, a command-line path open only while
  fewer than two active administrators exist (four eyes needs two).

Each public function is its own durable transaction. A refusal is audited inside it and raised
only once it has committed: no caller can roll back the record of an attempt, and a refused
attempt leaves that record and nothing else.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.errors import RoleError, RoleErrorCode
from accounts.models import Role, RoleGrant, RoleRequest, RoleRequestStatus, User
from accounts.selectors import user_is_active_administrator, user_mapped_roles, user_roles
from audit.models import AuditEventType
from audit.services import audit_event_record

from .access import AccessChange, access_reduced

FOUR_EYES_ROLES = frozenset({Role.ADMINISTRATOR, Role.COMPLIANCE_OFFICER, Role.AUDITOR})
# Holders of one of these roles may hold none of the others (separation of duties).
EXCLUSIVE_ROLES = FOUR_EYES_ROLES
BOOTSTRAP_QUORUM = 2

T = TypeVar("T")


def role_request(*, actor: User, user_id: int, role: str, reason: str = "") -> RoleRequest:
    """Ask that a user hold a role. An employee grant takes effect at once (the request comes
    back approved); the other roles wait, pending, for a second administrator."""
    attempt = {"action": "request", "user_id": user_id, "role": role}
    return _guarded(
        actor=actor, attempt=attempt, work=partial(_request, actor, user_id, role, reason)
    )


def role_request_approve(*, actor: User, request_id: int) -> RoleRequest:
    """A second administrator approves a pending request: the role takes effect now."""
    attempt = {"action": "approve", "request_id": request_id}
    return _guarded(actor=actor, attempt=attempt, work=partial(_approve, actor, request_id))


def role_request_refuse(*, actor: User, request_id: int, reason: str = "") -> RoleRequest:
    """An administrator (the requester too: a withdrawal) turns down a pending request."""
    attempt = {"action": "refuse", "request_id": request_id}
    return _guarded(actor=actor, attempt=attempt, work=partial(_refuse, actor, request_id, reason))


def role_revoke(*, actor: User, user_id: int, role: str, reason: str = "") -> None:
    """Take a role away, at once: open sockets and sessions hear of it after the commit."""
    attempt = {"action": "revoke", "user_id": user_id, "role": role}
    _guarded(actor=actor, attempt=attempt, work=partial(_revoke, actor, user_id, role, reason))


def role_request_mapped(*, user_id: int, role: str, source: str) -> RoleRequest:
    """That an identity provider's group says the user should hold a role (a GroupRoleRule,
    `source` naming provider and group). Employee takes effect at once; a role under four eyes
    becomes a pending request with no requester: the IdP's group assignment was the first pair
    of eyes, and one eim administrator (not the subject) must still approve it."""
    attempt = {"action": "request_mapped", "user_id": user_id, "role": role, "source": source}
    return _guarded(
        actor=None, attempt=attempt, work=partial(_request_mapped, user_id, role, source)
    )


def role_revoke_mapped(*, user_id: int, role: str, reason: str) -> None:
    """Take away a role that a group mapping granted, because the person left the last group
    that maps it (or was deactivated). A role granted by hand is never touched here: that
    is refused (not_found) and audited. Sockets and sessions hear of it after the commit."""
    attempt = {"action": "revoke_mapped", "user_id": user_id, "role": role}
    _guarded(actor=None, attempt=attempt, work=partial(_revoke_mapped, user_id, role, reason))


def role_request_withdraw_mapped(*, request_id: int, reason: str) -> RoleRequest:
    """Withdraw a pending mapped request whose group membership is gone: nobody can approve
    it any more."""
    attempt = {"action": "withdraw_mapped", "request_id": request_id}
    return _guarded(actor=None, attempt=attempt, work=partial(_withdraw_mapped, request_id, reason))


def role_bootstrap(*, user_id: int, operator: str) -> RoleGrant:
    """Make a user an administrator from the command line, while fewer than two active
    administrators exist: how the first two come to be, and the break-glass when one is left.
    `operator` names who ran the command (the audit event's actor is the system)."""
    attempt = {"action": "bootstrap", "user_id": user_id, "operator": operator}
    return _guarded(actor=None, attempt=attempt, work=partial(_bootstrap, user_id, operator))


def role_requests_expire() -> int:
    """Mark every pending request past its expiry as expired (audited); how many were."""
    with transaction.atomic():
        return _expire_due(now=timezone.now())


def _guarded(*, actor: User | None, attempt: dict[str, Any], work: Callable[[], T]) -> T:
    with transaction.atomic(durable=True):
        _expire_due(now=timezone.now())
        try:
            with transaction.atomic():
                return work()
        except RoleError as exc:
            refusal = exc
            details = attempt | {"code": exc.code.value, "detail": exc.detail}
            if actor is not None:
                details["actor_is_superuser"] = actor.is_superuser
            audit_event_record(actor=actor, event_type=AuditEventType.ROLE_REFUSED, details=details)
    raise refusal


def _request(actor: User, user_id: int, role_name: str, reason: str) -> RoleRequest:
    role = _role(role_name)
    _require_administrator(actor)
    subject = _subject(actor, user_id)
    _require_grantable(subject, role)
    now = timezone.now()
    if role not in FOUR_EYES_ROLES:
        request = _new_request(subject, role, actor, reason, now, RoleRequestStatus.APPROVED)
        _grant(request, granted_by=actor)
        _audit(actor, AuditEventType.ROLE_GRANTED, request)
        return request
    if RoleRequest.objects.filter(
        user=subject, role=role, status=RoleRequestStatus.PENDING
    ).exists():
        raise RoleError(
            RoleErrorCode.ALREADY_REQUESTED, f"{subject.username} already has a pending {role}"
        )
    request = _new_request(subject, role, actor, reason, now, RoleRequestStatus.PENDING)
    _audit(actor, AuditEventType.ROLE_REQUESTED, request)
    return request


def _request_mapped(user_id: int, role_name: str, source: str) -> RoleRequest:
    role = _role(role_name)
    subject = _subject(None, user_id)
    _require_grantable(subject, role)
    reason = f"identity provider group {source}"
    now = timezone.now()
    if role not in FOUR_EYES_ROLES:
        request = _new_request(
            subject, role, None, reason, now, RoleRequestStatus.APPROVED, mapped_from=source
        )
        _grant(request, granted_by=None)
        _audit(None, AuditEventType.ROLE_GRANTED, request, via="group_mapping")
        return request
    if RoleRequest.objects.filter(
        user=subject, role=role, status=RoleRequestStatus.PENDING
    ).exists():
        raise RoleError(
            RoleErrorCode.ALREADY_REQUESTED, f"{subject.username} already has a pending {role}"
        )
    request = _new_request(
        subject, role, None, reason, now, RoleRequestStatus.PENDING, mapped_from=source
    )
    _audit(None, AuditEventType.ROLE_REQUESTED, request, via="group_mapping")
    return request


def _approve(actor: User, request_id: int) -> RoleRequest:
    _require_administrator(actor)
    request = _pending(actor, request_id, for_approval=True)
    if request.requested_by_id == actor.pk:
        raise RoleError(RoleErrorCode.FOUR_EYES, "a second administrator must approve")
    requester = request.requested_by
    # A pending request without a requester comes from an IdP group mapping (bootstraps are
    # never pending): the group was the first pair of eyes, this administrator the second.
    if requester is not None and not user_is_active_administrator(user=requester):
        raise RoleError(
            RoleErrorCode.FOUR_EYES, "the requester is no longer an active administrator"
        )
    _require_grantable(request.user, Role(request.role))
    # The group that asked may have let the person go since (a lost hook, not yet swept).
    if request.mapped_from and request.role not in user_mapped_roles(user_id=request.user_id):
        raise RoleError(
            RoleErrorCode.MAPPING_GONE,
            f"{request.user.username} is no longer in a group that maps {request.role}",
        )
    _decide(request, actor, RoleRequestStatus.APPROVED)
    _grant(request, granted_by=actor)
    _audit(actor, AuditEventType.ROLE_APPROVED, request)
    return request


def _refuse(actor: User, request_id: int, reason: str) -> RoleRequest:
    _require_administrator(actor)
    request = _pending(actor, request_id, for_approval=False)
    _decide(request, actor, RoleRequestStatus.REFUSED, reason=reason)
    _audit(actor, AuditEventType.ROLE_REQUEST_REFUSED, request)
    return request


def _revoke(actor: User, user_id: int, role_name: str, reason: str) -> None:
    role = _role(role_name)
    _require_administrator(actor)
    subject = _subject(actor, user_id, must_be_active=False)
    grant = RoleGrant.objects.filter(user=subject, role=role).first()
    if grant is None:
        raise RoleError(RoleErrorCode.NOT_FOUND, f"{subject.username} does not hold {role}")
    details = {"grant_id": grant.pk, "request_id": grant.request_id, "reason": reason}
    grant.delete()
    audit_event_record(
        actor=actor, event_type=AuditEventType.ROLE_REVOKED, details=_who(subject, role) | details
    )
    access_reduced(user_id=subject.pk, change=AccessChange.ROLE_REVOKED)


def _revoke_mapped(user_id: int, role_name: str, reason: str) -> None:
    role = _role(role_name)
    subject = _subject(None, user_id, must_be_active=False)
    grant = (
        RoleGrant.objects.filter(user=subject, role=role)
        .exclude(request__isnull=True)
        .exclude(request__mapped_from="")
        .select_related("request")
        .first()
    )
    if grant is None or grant.request is None:
        raise RoleError(
            RoleErrorCode.NOT_FOUND, f"{subject.username} holds no {role} from a group mapping"
        )
    details = {
        "grant_id": grant.pk,
        "request_id": grant.request_id,
        "mapped_from": grant.request.mapped_from,
        "reason": reason,
        "via": "group_mapping",
    }
    grant.delete()
    audit_event_record(
        actor=None, event_type=AuditEventType.ROLE_REVOKED, details=_who(subject, role) | details
    )
    access_reduced(user_id=subject.pk, change=AccessChange.ROLE_REVOKED)


def _withdraw_mapped(request_id: int, reason: str) -> RoleRequest:
    found = RoleRequest.objects.filter(pk=request_id).values_list("user_id", flat=True).first()
    if found is None:
        raise RoleError(RoleErrorCode.NOT_FOUND, f"no role request {request_id}")
    subject = _subject(None, found, must_be_active=False)
    request = RoleRequest.objects.select_for_update(of=("self",)).get(pk=request_id)
    request.user = subject
    if request.status != RoleRequestStatus.PENDING or not request.mapped_from:
        raise RoleError(
            RoleErrorCode.NOT_PENDING, f"role request {request_id} is not a pending mapped one"
        )
    request.status = RoleRequestStatus.WITHDRAWN
    request.decided_at = timezone.now()
    request.decision_reason = reason[:500]
    request.save(update_fields=["status", "decided_at", "decision_reason"])
    _audit(None, AuditEventType.ROLE_REQUEST_WITHDRAWN, request, via="group_mapping")
    return request


def _bootstrap_lock() -> None:
    """One bootstrap at a time, to its commit: two that counted the administrators together
    would both see room under the quorum. SQLite's writers are serialised already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('eim.role_bootstrap'))")


def _bootstrap(user_id: int, operator: str) -> RoleGrant:
    _bootstrap_lock()
    administrators = RoleGrant.objects.filter(role=Role.ADMINISTRATOR, user__is_active=True)
    if administrators.count() >= BOOTSTRAP_QUORUM:
        raise RoleError(
            RoleErrorCode.BOOTSTRAP_CLOSED,
            f"{BOOTSTRAP_QUORUM} active administrators exist: they grant roles, with four eyes",
        )
    subject = _subject(None, user_id)
    _require_grantable(subject, Role.ADMINISTRATOR)
    request = _new_request(
        subject,
        Role.ADMINISTRATOR,
        None,
        f"bootstrap by {operator}",
        timezone.now(),
        RoleRequestStatus.APPROVED,
    )
    grant = _grant(request, granted_by=None)
    _audit(None, AuditEventType.ROLE_GRANTED, request, bootstrap=True, operator=operator)
    return grant


def _expire_due(*, now: datetime) -> int:
    due = list(
        RoleRequest.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=RoleRequestStatus.PENDING, expires_at__lte=now)
        .select_related("user")
        .order_by("pk")
    )
    for request in due:
        request.status = RoleRequestStatus.EXPIRED
        request.decided_at = now
        request.save(update_fields=["status", "decided_at"])
        _audit(None, AuditEventType.ROLE_EXPIRED, request)
    return len(due)


def _role(name: str) -> Role:
    if name not in Role.values:
        raise RoleError(RoleErrorCode.INVALID_ROLE, f"no role named {name!r}")
    return Role(name)


def _require_administrator(actor: User) -> None:
    if not user_is_active_administrator(user=actor):
        raise RoleError(
            RoleErrorCode.NOT_ADMINISTRATOR, "only an active administrator may change roles"
        )


def _subject(actor: User | None, user_id: int, *, must_be_active: bool = True) -> User:
    """The user whose roles change, locked: one change at a time per person."""
    if actor is not None and actor.pk == user_id:
        raise RoleError(RoleErrorCode.OWN_ROLE, "nobody changes their own roles")
    subject = User.objects.select_for_update().filter(pk=user_id).first()
    if subject is None:
        raise RoleError(RoleErrorCode.NOT_FOUND, f"no user with id {user_id}")
    if must_be_active and not subject.is_active:
        raise RoleError(RoleErrorCode.INACTIVE_USER, f"{subject.username} is deactivated")
    return subject


def _require_grantable(subject: User, role: Role) -> None:
    held = user_roles(user=subject)
    if role in held:
        raise RoleError(RoleErrorCode.ALREADY_HELD, f"{subject.username} already holds {role}")
    if role in EXCLUSIVE_ROLES and (clash := sorted(held & EXCLUSIVE_ROLES)):
        raise RoleError(
            RoleErrorCode.CONFLICTING_ROLE,
            f"{subject.username} holds {', '.join(clash)}, which excludes {role}",
        )


def _pending(actor: User, request_id: int, *, for_approval: bool) -> RoleRequest:
    """A pending, unexpired request that actor may decide, locked with its subject. Only an
    approval needs the subject still active: a deactivated person's request may be refused."""
    found = RoleRequest.objects.filter(pk=request_id).values_list("user_id", flat=True).first()
    if found is None:
        raise RoleError(RoleErrorCode.NOT_FOUND, f"no role request {request_id}")
    subject = _subject(actor, found, must_be_active=False)
    request = (
        RoleRequest.objects.select_for_update(of=("self",))
        .select_related("requested_by")
        .get(pk=request_id)
    )
    request.user = subject
    if request.status == RoleRequestStatus.EXPIRED or (
        request.status == RoleRequestStatus.PENDING and request.expires_at <= timezone.now()
    ):
        raise RoleError(RoleErrorCode.EXPIRED, f"role request {request_id} has expired")
    if request.status != RoleRequestStatus.PENDING:
        raise RoleError(
            RoleErrorCode.NOT_PENDING, f"role request {request_id} is already {request.status}"
        )
    if for_approval and not subject.is_active:
        raise RoleError(RoleErrorCode.INACTIVE_USER, f"{subject.username} is deactivated")
    return request


def _new_request(
    subject: User,
    role: Role,
    actor: User | None,
    reason: str,
    now: datetime,
    status: RoleRequestStatus,
    *,
    mapped_from: str = "",
) -> RoleRequest:
    decided = status != RoleRequestStatus.PENDING
    return RoleRequest.objects.create(
        mapped_from=mapped_from[:300],
        user=subject,
        role=role,
        status=status,
        reason=reason[:500],
        requested_by=actor,
        requested_at=now,
        expires_at=now + timedelta(hours=settings.EIM_ROLE_APPROVAL_TTL_HOURS),
        decided_by=actor if decided else None,
        decided_at=now if decided else None,
    )


def _decide(
    request: RoleRequest, actor: User, status: RoleRequestStatus, *, reason: str = ""
) -> None:
    request.status = status
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_reason = reason[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])


def _grant(request: RoleRequest, *, granted_by: User | None) -> RoleGrant:
    return RoleGrant.objects.create(
        user=request.user, role=request.role, granted_by=granted_by, request=request
    )


def _who(subject: User, role: Role | str) -> dict[str, Any]:
    return {"user_id": subject.pk, "username": subject.username, "role": str(role)}


def _audit(
    actor: User | None, event_type: AuditEventType, request: RoleRequest, **more: Any
) -> None:
    details = _who(request.user, request.role) | {
        "request_id": request.pk,
        "requested_by": request.requested_by_id,
        "decided_by": request.decided_by_id,
        "reason": request.decision_reason or request.reason,
        "expires_at": request.expires_at.isoformat(),
    }
    audit_event_record(actor=actor, event_type=event_type, details=details | more)
