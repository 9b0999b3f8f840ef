"""Writes of the accounts app. Roles are granted and revoked only through `.roles`."""

from accounts.models import User


def api_token_create(*, user: User) -> str:
    """A new bearer token for user; only its digest is stored."""
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(user=user, expiry=None)
    return token
