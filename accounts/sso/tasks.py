from celery import shared_task

from .replay import assertions_forget


@shared_task(name="sso.assertions_forget")
def assertions_forget_task() -> int:
    """Forget SAML assertion ids past their NotOnOrAfter (and the skew): idempotent."""
    return assertions_forget()
