from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts.models import User

from .payloads import user_payload

# The page runs only its own modules: no inline script or style, no third-party origin.
# 'self' in connect-src also covers ws:// and wss:// to the same host (CSP Level 3).
CHAT_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@login_required
@ensure_csrf_cookie
def chat_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required let only a real account through
    response = render(
        request,
        "chat/app.html",
        {
            "max_message_chars": settings.EIM_MAX_MESSAGE_CHARS,
            "max_attachment_bytes": settings.EIM_MAX_ATTACHMENT_BYTES,
            "client_config": {
                "me": user_payload(user),
                "maxMessageChars": settings.EIM_MAX_MESSAGE_CHARS,
                "maxAttachmentBytes": settings.EIM_MAX_ATTACHMENT_BYTES,
            },
        },
    )
    response["Content-Security-Policy"] = CHAT_CONTENT_SECURITY_POLICY
    return response
