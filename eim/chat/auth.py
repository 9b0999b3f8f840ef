"""Authentication of the WebSocket handshake: a Bearer token, else the session cookie.

The middleware only notes what the handshake presented (`scope["chat_credentials"]`); the
chat socket checks it in its first database call, together with the rest of its arrival
(`ChatConsumer.connect`): one thread hop fewer per handshake than resolving the user in the
middleware's own hop, which a restart pays once per socket (docs/performance.md).

The socket keeps what it was authenticated by (`SignIn`: the token's digest, or the
session) and re-checks that it still holds while it stays open (docs/access.md).
"""

from dataclasses import dataclass
from typing import Any

from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth import get_user
from django.contrib.sessions.backends.base import SessionBase

from accounts.authentication import bearer_credentials, bearer_secret
from accounts.models import User
from accounts.services.tokens import api_tokens_authenticate


@dataclass(frozen=True)
class Presented:
    """What a handshake presented: an `Authorization` header, else its session (if any)."""

    authorization: bytes | None
    session: SessionBase | None


@dataclass(frozen=True)
class Authenticated:
    user: User
    token_digest: str | None
    session_key: str | None


@dataclass(frozen=True)
class _SessionHolder:
    """What django.contrib.auth.get_user reads a session from."""

    session: SessionBase


def handshake_authenticate(presented: Presented) -> Authenticated | None:
    """The active user a handshake's credentials name, or None. Runs in a database thread.

    An `Authorization` header decides alone: a handshake that sends one is never signed in by
    its cookie (a header that names no live token is refused, whatever the cookie)."""
    if presented.authorization is not None:
        credentials = bearer_credentials(presented.authorization)
        if credentials is None:
            return None
        user, token = credentials
        return Authenticated(user=user, token_digest=token.digest, session_key=None)
    if presented.session is None:
        return None
    signed_in = get_user(_SessionHolder(presented.session))  # type: ignore[arg-type]
    if not isinstance(signed_in, User) or not signed_in.is_active:
        return None
    return Authenticated(
        user=signed_in, token_digest=None, session_key=presented.session.session_key
    )


def handshakes_authenticate(presented: list[Presented]) -> list[Authenticated | None]:
    """handshake_authenticate for several handshakes, in their order: the API tokens among
    them checked in one query (api_tokens_authenticate), each judged on its own; sessions
    one by one. Runs in a database thread."""
    results: list[Authenticated | None] = [None] * len(presented)
    by_token = [
        (index, secret)
        for index, one in enumerate(presented)
        if one.authorization is not None
        and (secret := bearer_secret(one.authorization)) is not None
    ]
    tokens = api_tokens_authenticate(secrets=[secret for _index, secret in by_token])
    for (index, _secret), token in zip(by_token, tokens, strict=True):
        if token is not None:
            results[index] = Authenticated(
                user=token.user, token_digest=token.digest, session_key=None
            )
    for index, one in enumerate(presented):
        if one.authorization is None:
            results[index] = handshake_authenticate(one)
    return results


class _NoteCredentials:
    def __init__(self, inner: Any, *, by_token: bool) -> None:
        self.inner = inner
        self.by_token = by_token

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        scope = dict(scope)
        scope["chat_credentials"] = Presented(
            authorization=headers.get(b"authorization", b"") if self.by_token else None,
            session=None if self.by_token else scope.get("session"),
        )
        return await self.inner(scope, receive, send)


def ChatAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - named like channels' stacks
    """Note the handshake's credentials for the socket to check: a token's handshake skips
    the session stack (no cookie parsed, no session object)."""
    by_token = _NoteCredentials(inner, by_token=True)
    by_session = CookieMiddleware(SessionMiddleware(_NoteCredentials(inner, by_token=False)))

    async def authenticate(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if b"authorization" in dict(scope.get("headers", [])):
            return await by_token(scope, receive, send)
        return await by_session(scope, receive, send)

    return authenticate
