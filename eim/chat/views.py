from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts.models import Role, User
from accounts.selectors import user_has_role, user_is_active_administrator
from accounts.workspace.definitions import Who
from accounts.workspace.selectors import workspace_settings

from .payloads import user_payload
from .selectors import chat_preferences_of


@login_required
@ensure_csrf_cookie
def chat_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required let only a real account through
    limits = workspace_settings()
    administrator = user_is_active_administrator(user=user)
    return render(
        request,
        "chat/app.html",
        {
            "max_message_chars": limits.max_message_chars,
            "max_attachment_bytes": limits.max_attachment_bytes,
            "history_visible_default": limits.history_visible_default,
            # Administrators find their console from the chat (a link in the sidebar's foot).
            "is_administrator": administrator,
            # Compliance officers find their workspace from the chat (and back from there).
            "workspace_url": (
                reverse("compliance:workspace")
                if user_has_role(user=user, role=Role.COMPLIANCE_OFFICER)
                else None
            ),
            "client_config": {
                "me": user_payload(user),
                "maxMessageChars": limits.max_message_chars,
                "maxAttachmentBytes": limits.max_attachment_bytes,
                # Whether an owner may make a channel private or public (an administrator
                # always may): the channel settings say so before anyone tries.
                # The person's own chat choices, kept with their account.
                "preferences": chat_preferences_of(user=user),
                "ownersChangeVisibility": administrator
                or limits.channel_visibility_change == Who.EVERYONE,
            },
        },
    )
