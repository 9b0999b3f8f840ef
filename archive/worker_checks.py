"""A worker refuses to start if the broker could redeliver a task that is still running."""

from typing import Any

from celery.signals import worker_init
from django.conf import settings

LONGEST_TASK_SECONDS = 3300  # archive.verify's hard time limit


class VisibilityTimeoutError(RuntimeError):
    pass


def check_visibility_timeout(*, broker_url: str, options: dict[str, Any]) -> None:
    if not broker_url.startswith(("redis://", "rediss://")) or options.get("unsafe_short_timeout"):
        return
    timeout = options.get("visibility_timeout", 3600)
    if timeout < 2 * LONGEST_TASK_SECONDS:
        raise VisibilityTimeoutError(
            f"broker visibility_timeout is {timeout} s; it must be at least "
            f"{2 * LONGEST_TASK_SECONDS} s (twice the longest task) or a running task is "
            "delivered to a second worker"
        )


@worker_init.connect
def _on_worker_init(**kwargs: Any) -> None:
    # Celery logs an Exception raised by a signal handler and starts the worker anyway; only
    # SystemExit (a BaseException) gets past its dispatcher and stops the start-up.
    try:
        check_visibility_timeout(
            broker_url=settings.CELERY_BROKER_URL,
            options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        )
    except VisibilityTimeoutError as error:
        raise SystemExit(f"refusing to start: {error}") from error
