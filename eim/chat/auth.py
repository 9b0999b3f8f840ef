"""Authentication of the WebSocket handshake: a Bearer token, else the session cookie.

The socket keeps what it was authenticated by (`scope["auth_token_digest"]`, or the session),
and re-checks that it still holds while it stays open (ChatConsumer, docs/access.md).
"""

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from accounts.authentication import bearer_credentials


class BearerTokenMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        authorization = dict(scope.get("headers", [])).get(b"authorization")
        credentials = await database_sync_to_async(bearer_credentials)(authorization)
        scope = dict(scope)
        scope["user"] = credentials[0] if credentials is not None else AnonymousUser()
        scope["auth_token_digest"] = credentials[1].digest if credentials is not None else None
        return await super().__call__(scope, receive, send)


def ChatAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - named like channels' stacks
    """An `Authorization` header decides alone: a handshake that sends one is never signed
    in by its cookie (a header that names no live token is refused, whatever the cookie).
    So a token's handshake skips the session stack, and its thread hop to load no session."""
    by_token = BearerTokenMiddleware(inner)
    by_session = AuthMiddlewareStack(inner)

    async def authenticate(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if b"authorization" in dict(scope.get("headers", [])):
            return await by_token(scope, receive, send)
        return await by_session(scope, receive, send)

    return authenticate
