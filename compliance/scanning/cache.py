"""The compiled policy set of this process, rebuilt when the policies change.

Compiling 1,000 terms takes tens of milliseconds, so a process keeps one compiled set and
checks the policy set's version (one indexed read) at most every
EIM_SCAN_POLICY_CHECK_SECONDS: a change reaches every server within that time. The process
that made a change checks again at its next send (`policy_set_forget`). While one thread
compiles a changed set (1,000 terms with Hyperscan: about 3 s here), the process's other
sends keep using the set it had; the scanning stage (`fresh`) waits for the new one.
Chat servers and Celery workers compile it as they start (`policy_set_warm`), so the first
send after a restart does not wait for it.
"""

import logging
import threading
import time

from django.conf import settings

from .compiled import PolicySet
from .selectors import active_policy_specs, policy_set_stamp

logger = logging.getLogger(__name__)

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
    if cached is not None and not fresh and not _lock.acquire(blocking=False):
        return cached  # another thread is compiling the new set (seconds): sends go on
    if cached is None or fresh:
        _lock.acquire()
    try:
        if _cached is None or _cached.stamp != stamp:
            specs = active_policy_specs()
            _cached = PolicySet(specs, stamp=stamp, engine=settings.EIM_SCAN_ENGINE)
        _checked_at = now
        return _cached
    finally:
        _lock.release()


def policy_set_forget() -> None:
    """After a change commits here: check the stamp at the next send, not a second later."""
    global _checked_at
    _checked_at = 0.0


def policy_set_warm() -> None:
    """Compile the set as a process starts: a chat server before it takes its first socket,
    a Celery worker before it forks its children, which inherit it. A failure is only
    logged: the first send or batch then compiles it, as it would have anyway."""
    if not settings.EIM_SCAN_WARM_UP:
        return
    try:
        policy_set(fresh=True)
    except Exception:
        logger.warning("compiling the policy set at start-up failed", exc_info=True)
