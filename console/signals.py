"""Records each web sign-in's session key (WebSession), for the person page's sessions list."""

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from .services import web_session_record


@receiver(user_logged_in)
def record_web_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session") or not request.session.session_key:
        return
    web_session_record(
        user_id=user.pk,
        session_key=request.session.session_key,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        address=request.META.get("REMOTE_ADDR"),
    )
