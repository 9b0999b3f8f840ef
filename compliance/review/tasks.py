"""Review tasks: thin callers of one service each (registered by compliance.tasks)."""

from celery import shared_task

from .services import review_claims_expire


@shared_task(name="compliance.review_claims_expire", soft_time_limit=60, time_limit=120)
def review_claims_expire_task() -> int:
    """Beat: release claims older than EIM_REVIEW_CLAIM_MINUTES."""
    return review_claims_expire()
