"""Who may use the console: an active administrator. The role is what counts (granted through
the four-eyes role service); a Django superuser flag counts for nothing, and a deactivated
administrator is refused. Every page and every /api/v1/admin/ endpoint checks this first."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import User
from accounts.selectors import user_is_active_administrator
from audit.models import AuditEventType
from audit.services import audit_event_record

ConsoleView = Callable[..., HttpResponse]
# Set in the session once its first console page is recorded as a console sign-in.
SESSION_MARK = "console_entered"


def console_administrator(user: Any) -> User | None:
    """The user, if they may use the console; None otherwise."""
    if isinstance(user, User) and user_is_active_administrator(user=user):
        return user
    return None


def administrator_required(view: ConsoleView) -> ConsoleView:
    """Signed out: to the sign-in page. Signed in without the role: the console's 403 page.
    The first console page of each session is audited (`console.entered`)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        admin = console_administrator(request.user)
        if admin is None:
            return render(request, "console/forbidden.html", status=403)
        if not request.session.get(SESSION_MARK):
            _record_entry(admin)
            request.session[SESSION_MARK] = True
        response = view(request, admin, *args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return guarded


@transaction.atomic
def _record_entry(admin: User) -> None:
    audit_event_record(actor=admin, event_type=AuditEventType.CONSOLE_ENTERED, details={})


class IsConsoleAdministrator(BasePermission):
    """The same rule for the API: 403 {"code": "not_administrator"} for anyone else."""

    message = "only an active administrator may use the administrator's API"
    code = "not_administrator"

    def has_permission(self, request: Request, view: Any) -> bool:
        return console_administrator(request.user) is not None
