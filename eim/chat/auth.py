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
        headers = dict(scope.get("headers", []))
        authorization = headers.get(b"authorization")
        if authorization:
            credentials = await database_sync_to_async(bearer_credentials)(authorization)
            scope = dict(scope)
            scope["user"] = credentials[0] if credentials is not None else AnonymousUser()
            scope["auth_token_digest"] = credentials[1].digest if credentials is not None else None
        return await super().__call__(scope, receive, send)


def ChatAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - named like channels' stacks
    # The session stack runs first and sets scope["user"]; a Bearer header then overrides it.
    return AuthMiddlewareStack(BearerTokenMiddleware(inner))
