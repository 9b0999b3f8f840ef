from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


@login_required
@ensure_csrf_cookie
def chat_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "chat/app.html",
        {
            "max_message_chars": settings.EIM_MAX_MESSAGE_CHARS,
            "max_attachment_bytes": settings.EIM_MAX_ATTACHMENT_BYTES,
        },
    )
