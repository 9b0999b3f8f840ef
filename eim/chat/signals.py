"""Closing a session's sockets when it logs out (the socket outlives the HTTP request)."""

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from .services.events import ephemeral_broadcast, user_group


@receiver(user_logged_out)
def close_sockets_of_ended_session(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    if user is None or request is None or not request.session.session_key:
        return
    ephemeral_broadcast(
        user_group(user.pk), {"type": "session.ended", "session_key": request.session.session_key}
    )
