"""What every console page shares: rendering with the navigation's counts, the confirmation
step before anything destructive, and the line that tells what a change did (or why it was
refused) with its audit event."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import User
from accounts.selectors import role_requests_pending_for_administrator

from ..changes import ChangeOutcome, change_run, refusal_text

T = TypeVar("T")


def page(
    request: HttpRequest, admin: User, template: str, section: str, **context: Any
) -> HttpResponse:
    pending = role_requests_pending_for_administrator(actor=admin).count()
    return render(
        request,
        f"console/{template}",
        {"section": section, "pending_role_count": pending, "admin": admin, **context},
    )


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirm") == "yes"


def confirmation(
    request: HttpRequest,
    admin: User,
    *,
    question: str,
    consequence: str,
    verb: str,
    back: str,
    section: str,
) -> HttpResponse:
    """The page that asks first (the pages' script asks in a dialog instead, and posts
    confirm=yes itself); its form posts the same fields again, confirmed."""
    fields = [
        (k, v) for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "confirm")
    ]
    return page(
        request,
        admin,
        "confirm.html",
        section,
        question=question,
        consequence=consequence,
        verb=verb,
        back=back,
        fields=fields,
    )


def act(request: HttpRequest, done: str, work: Callable[[], T]) -> ChangeOutcome[T]:
    """Run one service call and tell the administrator the outcome, with its audit event."""
    outcome = change_run(work)
    if outcome.refusal is not None:
        text = f"Refused: {refusal_text(outcome.refusal)}"
        if outcome.audit_seqs:
            text += f" (the attempt is recorded: {outcome.audit_note})"
        messages.error(request, text)
    else:
        messages.success(request, f"{done} — {outcome.audit_note}.")
    return outcome


@dataclass(frozen=True)
class Ask:
    """What a destructive change asks first; `back` is where "cancel" leads, if not to where
    the change leads afterwards."""

    question: str
    consequence: str
    verb: str
    back: str | None = None


def confirm_then_act(
    request: HttpRequest,
    admin: User,
    ask: Ask | None,
    *,
    section: str,
    done: str,
    work: Callable[[], object],
    then: str,
    onward: str | None = None,
) -> HttpResponse:
    """The console's change from a form: ask first (unless `ask` is None or the post says it
    is confirmed), run the service call with its outcome and audit event shown, then go to
    `then`, or to `onward` if the change went through and `then` is no longer there (a page of
    what was deleted)."""
    if ask is not None and not confirmed(request):
        return confirmation(
            request,
            admin,
            question=ask.question,
            consequence=ask.consequence,
            verb=ask.verb,
            back=ask.back or then,
            section=section,
        )
    outcome = act(request, done, work)
    return redirect(then if outcome.refused or onward is None else onward)


def int_or_none(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
