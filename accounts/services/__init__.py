from django.db import transaction

from ..models import Role, RoleGrant, User
from .tokens import api_token_create, api_token_revoke
from .users import user_deactivate, user_password_set

__all__ = [
    "api_token_create",
    "api_token_revoke",
    "user_deactivate",
    "user_grant_role",
    "user_password_set",
]


@transaction.atomic
def user_grant_role(*, user: User, role: Role, granted_by: User | None = None) -> RoleGrant:
    grant, _ = RoleGrant.objects.get_or_create(
        user=user, role=role, defaults={"granted_by": granted_by}
    )
    return grant
