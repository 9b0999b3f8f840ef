"""Review tasks: thin callers of one service each (registered by compliance.tasks)."""

from celery import shared_task

from .services import review_claims_expire


@shared_task(name="compliance.review_claims_expire", soft_time_limit=60, time_limit=120)
def review_claims_expire_task() -> int:
    """Beat: release claims older than EIM_REVIEW_CLAIM_MINUTES."""
    return review_claims_expire()


@shared_task(name="compliance.review_sample", soft_time_limit=600, time_limit=900)
def review_sample_task() -> dict[str, int | None]:
    """Beat, daily after midnight UTC: sample yesterday for every policy that samples."""
    from datetime import timedelta

    from django.utils import timezone

    from .sampling import review_sample

    return review_sample(day=timezone.now().date() - timedelta(days=1))


@shared_task(name="compliance.notify_email", soft_time_limit=120, time_limit=180)
def notify_email_task() -> int:
    """After a scan that notified reviewers, and beat every minute: send pending e-mails."""
    from .notifications import notifications_email_pending

    return notifications_email_pending()
