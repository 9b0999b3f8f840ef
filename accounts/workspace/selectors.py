"""The workspace settings in effect, read through one cached selector.

The send path reads them on every message, so the reading costs a clock read and a
comparison: each process keeps the values of the version it last loaded and looks for a newer
version at most every EIM_WORKSPACE_SETTINGS_CHECK_SECONDS (one indexed one-row query). A
change made in this process is seen at once (the writer drops the cache after its commit);
in other processes within that many seconds. bench/console.py measures the cost.
"""

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ..models import WorkspaceSettings
from .definitions import BY_KEY, DEFINITIONS


@dataclass(frozen=True)
class WorkspaceValues:
    version: int  # 0: nothing set yet, every value is the environment's
    max_message_chars: int
    max_attachment_bytes: int
    send_rate: str
    channel_creation: str
    direct_messages: str
    channel_visibility_change: str
    history_visible_default: bool
    session_hours: int
    local_sign_in: bool

    def as_dict(self) -> dict[str, Any]:
        return {d.key: getattr(self, d.key) for d in DEFINITIONS}


@dataclass
class _Cached:
    values: WorkspaceValues
    fresh_until: float


_cached: _Cached | None = None


def _latest_version() -> int:
    found = WorkspaceSettings.objects.order_by("-version").values_list("version", flat=True)
    return found.first() or 0


def workspace_settings_load() -> WorkspaceValues:
    """The latest version, read now (no cache)."""
    row = WorkspaceSettings.objects.order_by("-version").first()
    stored = row.values if row else {}
    values: dict[str, Any] = {}
    for definition in DEFINITIONS:
        try:
            values[definition.key] = definition.check(stored[definition.key])
        except (KeyError, ValueError):  # unset, or a bound that has since narrowed
            # The environment is the operator's: its value stands as given, bounds or not.
            values[definition.key] = definition.default()
    return WorkspaceValues(version=row.version if row else 0, **values)


def workspace_settings() -> WorkspaceValues:
    global _cached
    now = time.monotonic()
    cached = _cached
    if cached is not None and now < cached.fresh_until:
        return cached.values
    period = settings.EIM_WORKSPACE_SETTINGS_CHECK_SECONDS
    if cached is not None and _latest_version() == cached.values.version:
        cached.fresh_until = now + period
        return cached.values
    values = workspace_settings_load()
    _cached = _Cached(values=values, fresh_until=now + period)
    return values


def workspace_settings_forget() -> None:
    """Drop this process's cached values: the next read loads the latest version."""
    global _cached
    _cached = None


def workspace_settings_history(*, limit: int = 20) -> list[WorkspaceSettings]:
    return list(WorkspaceSettings.objects.select_related("changed_by").order_by("-version")[:limit])


def workspace_setting_default(key: str) -> Any:
    return BY_KEY[key].default()
