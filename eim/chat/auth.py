"""Authentication of the WebSocket handshake: a Bearer token, else the session cookie."""

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from accounts.authentication import user_from_bearer_header


class BearerTokenMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        authorization = headers.get(b"authorization")
        if authorization:
            scope = dict(scope)
            scope["user"] = await database_sync_to_async(user_from_bearer_header)(authorization)
        return await super().__call__(scope, receive, send)


def ChatAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - named like channels' stacks
    # The session stack runs first and sets scope["user"]; a Bearer header then overrides it.
    return AuthMiddlewareStack(BearerTokenMiddleware(inner))
