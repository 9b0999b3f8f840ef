from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone

from .errors import RoleError, RoleErrorCode
from .models import Role, RoleGrant, RoleRequest, RoleRequestStatus, User


def user_roles(*, user: User) -> set[Role]:
    """The roles in effect: granted, never merely requested; the superuser flag adds none."""
    return {Role(r) for r in RoleGrant.objects.filter(user=user).values_list("role", flat=True)}


def user_has_role(*, user: User, role: Role) -> bool:
    return RoleGrant.objects.filter(user=user, role=role).exists()


def user_is_active_administrator(*, user: User) -> bool:
    return user.is_active and user_has_role(user=user, role=Role.ADMINISTRATOR)


def _require_administrator(actor: User) -> None:
    if not user_is_active_administrator(user=actor):
        raise RoleError(
            RoleErrorCode.NOT_ADMINISTRATOR, "only an active administrator may see role grants"
        )


def role_grants_for_administrator(*, actor: User) -> QuerySet[RoleGrant]:
    """Every effective grant, for an administrator; anyone else is refused."""
    _require_administrator(actor)
    return RoleGrant.objects.select_related("user", "granted_by", "request__requested_by").order_by(
        "user__username", "role"
    )


def role_requests_pending_for_administrator(*, actor: User) -> QuerySet[RoleRequest]:
    """The requests still waiting for a second administrator (not yet expired)."""
    _require_administrator(actor)
    return (
        RoleRequest.objects.filter(status=RoleRequestStatus.PENDING, expires_at__gt=timezone.now())
        .select_related("user", "requested_by")
        .order_by("expires_at", "pk")
    )


def user_directory(*, query: str = "", ids: Iterable[int] = (), limit: int = 20) -> QuerySet[User]:
    users = User.objects.filter(is_active=True)
    if ids:
        users = users.filter(id__in=set(ids))
    if query:
        users = users.filter(
            Q(username__icontains=query)
            | Q(display_name__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
        )
    return users.order_by("username")[:limit]


def active_users_by_id(*, user_ids: Iterable[int]) -> QuerySet[User]:
    return User.objects.filter(id__in=set(user_ids), is_active=True)


def role_request_pending_id(*, user: User, role: str) -> int | None:
    """The id of the pending request for user to hold role (there is at most one)."""
    return (
        RoleRequest.objects.filter(user=user, role=role, status=RoleRequestStatus.PENDING)
        .values_list("pk", flat=True)
        .first()
    )
