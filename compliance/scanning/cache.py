"""The compiled policy set of this process, rebuilt when the policies change.

Compiling 1,000 terms takes tens of milliseconds, so a process keeps one compiled set and
checks the policy set's version (one indexed read) at most every
EIM_SCAN_POLICY_CHECK_SECONDS: a change reaches every server within that time. The process
that made a change forgets its copy at the commit (`policy_set_forget`).
"""

import threading
import time

from django.conf import settings

from .compiled import PolicySet
from .selectors import active_policy_specs, policy_set_stamp

_lock = threading.Lock()
_cached: PolicySet | None = None
_checked_at = 0.0


def policy_set(*, fresh: bool = False) -> PolicySet:
    """The compiled set of the enabled policies; `fresh` checks the version now."""
    global _cached, _checked_at
    now = time.monotonic()
    cached = _cached
    if (
        cached is not None
        and not fresh
        and now - _checked_at < settings.EIM_SCAN_POLICY_CHECK_SECONDS
    ):
        return cached
    stamp = policy_set_stamp()
    if cached is not None and cached.stamp == stamp:
        _checked_at = now
        return cached
    with _lock:
        if _cached is None or _cached.stamp != stamp:
            _cached = PolicySet(active_policy_specs(), stamp=stamp, engine=settings.EIM_SCAN_ENGINE)
        _checked_at = now
        return _cached


def policy_set_forget() -> None:
    global _cached
    _cached = None
