"""Bearer-token authentication shared by the REST API and the WebSocket handshake.

Tokens are django-rest-knox tokens: only a SHA-512 digest is stored. Every token expires
(`EIM_API_TOKEN_TTL_DAYS`); an expired one is refused and deleted.
"""

from django.contrib.auth.models import AnonymousUser
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import exceptions

from .models import User
from .services.tokens import api_token_authenticate


class BearerTokenAuthentication(TokenAuthentication):
    """knox tokens sent as `Authorization: Bearer <token>` (REST_KNOX AUTH_HEADER_PREFIX)."""

    def authenticate_credentials(self, token: bytes) -> tuple[User, AuthToken]:
        auth_token = api_token_authenticate(secret=token)
        if auth_token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return auth_token.user, auth_token


def bearer_secret(header_value: bytes | None) -> bytes | None:
    """The token a raw `Authorization: Bearer <token>` header carries, or None."""
    if not header_value:
        return None
    parts = header_value.split()
    if len(parts) != 2 or parts[0].lower() != b"bearer":
        return None
    return parts[1]


def bearer_credentials(header_value: bytes | None) -> tuple[User, AuthToken] | None:
    """The user and token a raw `Authorization` header names, or None if it names none."""
    secret = bearer_secret(header_value)
    if secret is None:
        return None
    try:
        return BearerTokenAuthentication().authenticate_credentials(secret)
    except exceptions.AuthenticationFailed:
        return None


def user_from_bearer_header(header_value: bytes | None) -> User | AnonymousUser:
    """The user a raw `Authorization` header names, or AnonymousUser if it names none."""
    credentials = bearer_credentials(header_value)
    return credentials[0] if credentials is not None else AnonymousUser()
