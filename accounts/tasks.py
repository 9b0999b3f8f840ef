"""Accounts tasks: thin, idempotent callers of one service each."""

from celery import shared_task

from .services.role_mapping import role_mappings_reconcile
from .services.roles import role_requests_expire


@shared_task(name="accounts.role_requests_expire", soft_time_limit=60, time_limit=120)
def role_requests_expire_task() -> int:
    """Beat: pending role requests past their expiry become expired (each one audited).

    Approving checks the expiry itself, so a late or lost run only delays the bookkeeping."""
    return role_requests_expire()


@shared_task(name="accounts.role_mappings_reconcile", soft_time_limit=600, time_limit=900)
def role_mappings_reconcile_task() -> int:
    """Beat: make everyone's mapped roles what their identity-provider groups say (the sweeper
    for a membership change whose after-commit role mapping never ran)."""
    return role_mappings_reconcile()
