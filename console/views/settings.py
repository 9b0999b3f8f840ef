"""Workspace settings: the limits and policies, versioned and audited
(accounts.workspace)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.workspace.definitions import DEFINITIONS, Who
from accounts.workspace.selectors import (
    workspace_setting_default,
    workspace_settings_history,
    workspace_settings_load,
)
from accounts.workspace.services import WorkspaceSettingsError, workspace_settings_update

from ..access import administrator_required
from ..changes import change_run
from .base import page

FLAGS = frozenset({"history_visible_default", "local_sign_in"})


def _form_changes(post: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for definition in DEFINITIONS:
        if definition.key in FLAGS:
            changes[definition.key] = post.get(definition.key) == "on"
        elif definition.key in post:
            changes[definition.key] = post.get(definition.key, "").strip()
    return changes


@require_http_methods(["GET", "POST"])
@administrator_required
def workspace_settings_page(request: HttpRequest, admin: User) -> HttpResponse:
    problems: dict[str, str] = {}
    if request.method == "POST":
        outcome = change_run(
            lambda: workspace_settings_update(
                actor=admin,
                changes=_form_changes(request.POST),
                reason=request.POST.get("reason", ""),
            )
        )
        if isinstance(outcome.refusal, WorkspaceSettingsError):
            problems = outcome.refusal.problems
            messages.error(request, "Nothing changed: correct the settings marked below.")
        elif outcome.refusal is not None:
            messages.error(request, f"Refused: {outcome.refusal}")
        else:
            messages.success(request, f"Settings saved — {outcome.audit_note}.")
            return redirect(reverse("console:settings"))
    current = workspace_settings_load()
    rows = [
        {
            "d": d,
            "value": request.POST.get(d.key, getattr(current, d.key))
            if problems
            else getattr(current, d.key),
            "default": workspace_setting_default(d.key),
            "problem": problems.get(d.key, ""),
            "flag": d.key in FLAGS,
            "choice": d.key in ("channel_creation", "direct_messages", "channel_visibility_change"),
        }
        for d in DEFINITIONS
    ]
    return page(
        request,
        admin,
        "settings.html",
        "settings",
        rows=rows,
        current=current,
        who_choices=Who.CHOICES,
        history=workspace_settings_history(),
    )
