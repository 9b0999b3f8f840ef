"""Accounts tasks: thin, idempotent callers of one service each."""

from celery import shared_task

from .services.roles import role_requests_expire


@shared_task(name="accounts.role_requests_expire", soft_time_limit=60, time_limit=120)
def role_requests_expire_task() -> int:
    """Beat: pending role requests past their expiry become expired (each one audited).

    Approving checks the expiry itself, so a late or lost run only delays the bookkeeping."""
    return role_requests_expire()
