"""Changing the workspace settings: a new version, audited, by an active administrator."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditEventType
from audit.services import audit_event_record

from ..errors import RoleError, RoleErrorCode
from ..models import User, WorkspaceSettings
from ..selectors import user_is_active_administrator
from .definitions import BY_KEY
from .selectors import WorkspaceValues, workspace_settings_forget, workspace_settings_load


class WorkspaceSettingsError(ValueError):
    """Values the settings refuse; nothing changed. `problems` maps each key to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        definition = BY_KEY.get(key)
        if definition is None:
            problems[key] = "not a workspace setting"
            continue
        try:
            clean[key] = definition.check(value)
        except ValueError as exc:
            problems[key] = str(exc)
    if problems:
        raise WorkspaceSettingsError(problems)
    return clean


def workspace_settings_update(
    *, actor: User, changes: dict[str, Any], reason: str = ""
) -> WorkspaceValues:
    """Set some settings (the others keep their values): a new version if anything changed,
    with one audit event naming each change, old and new. Refused whole if any value is bad."""
    if not user_is_active_administrator(user=actor):
        raise RoleError(
            RoleErrorCode.NOT_ADMINISTRATOR, "only an administrator changes workspace settings"
        )
    clean = _checked(changes)
    try:
        with transaction.atomic():
            return _new_version(actor, clean, reason)
    except IntegrityError as exc:  # another administrator saved the same version first
        raise WorkspaceSettingsError({"version": "changed meanwhile; try again"}) from exc


def _new_version(actor: User, clean: dict[str, Any], reason: str) -> WorkspaceValues:
    current = workspace_settings_load().as_dict()
    changed = {k: v for k, v in clean.items() if current[k] != v}
    if not changed:
        return workspace_settings_load()
    latest = WorkspaceSettings.objects.order_by("-version").first()
    stored = dict(latest.values) if latest else {}
    version = (latest.version if latest else 0) + 1
    WorkspaceSettings.objects.create(
        version=version,
        values=stored | changed,
        changed_by=actor,
        changed_at=timezone.now(),
        reason=reason[:500],
    )
    audit_event_record(
        actor=actor,
        event_type=AuditEventType.WORKSPACE_SETTINGS_CHANGED,
        details={
            "version": version,
            "changes": {k: {"from": current[k], "to": v} for k, v in sorted(changed.items())},
            "reason": reason[:500],
        },
    )
    # Now, for the rest of this transaction, and after its commit, for every later read here.
    # (A rollback is noticed too: the version read at the next check differs from the cached.)
    workspace_settings_forget()
    transaction.on_commit(workspace_settings_forget)
    return workspace_settings_load()
