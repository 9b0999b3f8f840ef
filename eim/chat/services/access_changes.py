"""The chat's side of accounts' access hook: a user's access shrank, so their sockets react.

Registered in ChatConfig.ready; runs after the commit of the change. The message goes to the
user's group, so it reaches every socket of theirs on every server; each socket decides what
it means for it (ChatConsumer.access_changed). The layer may lose it: sockets also re-check
on every frame and every EIM_SOCKET_ACCESS_CHECK_SECONDS.
"""

import logging

from accounts.services.access import AccessChange

from .events import ephemeral_broadcast, user_group

logger = logging.getLogger(__name__)


def sockets_access_reduced(user_id: int, change: AccessChange) -> None:
    if change == AccessChange.SIGNED_OUT:
        return  # a sign-out names its session: signals.py closes exactly that session's sockets
    try:
        ephemeral_broadcast(user_group(user_id), {"type": "access.changed", "change": str(change)})
    except Exception:
        # The change is committed; the sockets' own re-check closes them within its period.
        logger.exception("telling user %s's sockets that access changed failed", user_id)
