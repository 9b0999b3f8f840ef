"""Bearer-token authentication shared by the REST API and the WebSocket handshake.

Tokens are django-rest-knox tokens: only a SHA-512 digest is stored.
"""

from django.contrib.auth.models import AnonymousUser
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from .models import User


class BearerTokenAuthentication(TokenAuthentication):
    """knox tokens sent as `Authorization: Bearer <token>` (REST_KNOX AUTH_HEADER_PREFIX)."""


def user_from_bearer_header(header_value: bytes | None) -> User | AnonymousUser:
    """The user a raw `Authorization` header names, or AnonymousUser if it names none."""
    if not header_value:
        return AnonymousUser()
    parts = header_value.split()
    if len(parts) != 2 or parts[0].lower() != b"bearer":
        return AnonymousUser()
    try:
        user, _token = BearerTokenAuthentication().authenticate_credentials(parts[1])
    except exceptions.AuthenticationFailed:
        return AnonymousUser()
    return user
