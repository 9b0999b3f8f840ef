from collections.abc import Iterable

from django.db.models import Q, QuerySet

from .models import Role, RoleGrant, User


def user_roles(*, user: User) -> set[Role]:
    return {Role(r) for r in RoleGrant.objects.filter(user=user).values_list("role", flat=True)}


def user_has_role(*, user: User, role: Role) -> bool:
    return RoleGrant.objects.filter(user=user, role=role).exists()


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
