"""The four-eyes queue: role requests waiting for a second administrator."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.selectors import role_requests_pending_for_administrator
from accounts.services import roles

from ..access import administrator_required
from .base import Ask, act, confirm_then_act, page


@require_GET
@administrator_required
def role_queue(request: HttpRequest, admin: User) -> HttpResponse:
    pending = list(role_requests_pending_for_administrator(actor=admin))
    return page(request, admin, "roles.html", "roles", pending=pending)


@require_POST
@administrator_required
def role_approve(request: HttpRequest, admin: User, request_id: int) -> HttpResponse:
    act(
        request,
        f"Role request {request_id} approved: the role is in effect",
        lambda: roles.role_request_approve(actor=admin, request_id=request_id),
    )
    return redirect(reverse("console:roles"))


@require_POST
@administrator_required
def role_refuse(request: HttpRequest, admin: User, request_id: int) -> HttpResponse:
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Refuse role request {request_id}?",
            consequence="The role is not granted; asking again makes a new request.",
            verb="Refuse",
        ),
        section="roles",
        done=f"Role request {request_id} refused",
        work=lambda: roles.role_request_refuse(
            actor=admin, request_id=request_id, reason=request.POST.get("reason", "")
        ),
        then=reverse("console:roles"),
    )
