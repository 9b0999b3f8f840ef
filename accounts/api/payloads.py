"""The JSON shapes of role grants and requests."""

from typing import Any

from accounts.models import RoleGrant, RoleRequest, User


def person_payload(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.shown_name}


def role_grant_payload(grant: RoleGrant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "user": person_payload(grant.user),
        "role": grant.role,
        "granted_at": grant.granted_at.isoformat(),
        "granted_by": person_payload(grant.granted_by),
        "request": grant.request_id,
    }


def role_request_payload(request: RoleRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "user": person_payload(request.user),
        "role": request.role,
        "status": request.status,
        "reason": request.reason,
        "requested_by": person_payload(request.requested_by),
        "requested_at": request.requested_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "decided_by": person_payload(request.decided_by),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "decision_reason": request.decision_reason,
    }
