from django.db import transaction

from ..models import Role, RoleGrant, User


@transaction.atomic
def user_grant_role(*, user: User, role: Role, granted_by: User | None = None) -> RoleGrant:
    grant, _ = RoleGrant.objects.get_or_create(
        user=user, role=role, defaults={"granted_by": granted_by}
    )
    return grant


def api_token_create(*, user: User) -> str:
    """A new bearer token for user; only its digest is stored."""
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(user=user, expiry=None)
    return token
