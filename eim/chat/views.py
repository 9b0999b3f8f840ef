from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts.models import Role, User
from accounts.selectors import user_has_role

from .payloads import user_payload


@login_required
@ensure_csrf_cookie
def chat_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required let only a real account through
    return render(
        request,
        "chat/app.html",
        {
            "max_message_chars": settings.EIM_MAX_MESSAGE_CHARS,
            "max_attachment_bytes": settings.EIM_MAX_ATTACHMENT_BYTES,
            # Compliance officers find their workspace from the chat (and back from there).
            "workspace_url": (
                reverse("compliance:workspace")
                if user_has_role(user=user, role=Role.COMPLIANCE_OFFICER)
                else None
            ),
            "client_config": {
                "me": user_payload(user),
                "maxMessageChars": settings.EIM_MAX_MESSAGE_CHARS,
                "maxAttachmentBytes": settings.EIM_MAX_ATTACHMENT_BYTES,
            },
        },
    )
