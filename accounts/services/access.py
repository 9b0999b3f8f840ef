"""When a user's access shrinks or ends, apps above accounts react (the chat closes sockets).

accounts sits below the apps that hold live connections, so it cannot call them; they register
a hook here (in their AppConfig.ready), and every service that takes access away calls
`access_reduced` inside its transaction. The hooks run after the commit, never for a rollback.
"""

import enum
from collections.abc import Callable
from functools import partial

from django.db import transaction


class AccessChange(enum.StrEnum):
    """Why a user's access shrank; hooks decide what to close for each."""

    DEACTIVATED = "deactivated"
    ROLE_REVOKED = "role_revoked"
    CREDENTIALS_CHANGED = "credentials_changed"
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - a reason, not a secret
    SIGNED_OUT = "signed_out"
    SESSIONS_ENDED = "sessions_ended"  # every web session, at once (sign out everywhere)


AccessHook = Callable[[int, AccessChange], None]
_hooks: list[AccessHook] = []


def access_hook(hook: AccessHook) -> None:
    """Register `hook(user_id, change)`; it runs after the commit of every change."""
    if hook not in _hooks:
        _hooks.append(hook)


def access_reduced(*, user_id: int, change: AccessChange) -> None:
    for hook in list(_hooks):
        transaction.on_commit(partial(hook, user_id, change))
