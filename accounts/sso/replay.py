"""The SAML assertion replay cache: each assertion signs someone in once."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import SamlAssertionSeen

# An assertion without NotOnOrAfter (python3-saml requires one on the subject confirmation, so
# this is a fallback) is remembered this long.
FALLBACK_MEMORY = timedelta(days=1)


def assertion_first_use(
    *, issuer: str, assertion_id: str, not_on_or_after: datetime | None
) -> bool:
    """Remember the assertion; False if it was already used (a replay). Safe under concurrent
    use of one assertion: the unique constraint lets exactly one of them in."""
    skew = timedelta(seconds=settings.EIM_SAML_CLOCK_SKEW_SECONDS)
    forget_after = (not_on_or_after or timezone.now() + FALLBACK_MEMORY) + skew
    try:
        with transaction.atomic():
            SamlAssertionSeen.objects.create(
                issuer=issuer, assertion_id=assertion_id, forget_after=forget_after
            )
    except IntegrityError:
        return False
    return True


def assertions_forget() -> int:
    """Forget assertions that could no longer be accepted anyway; how many were."""
    deleted, _ = SamlAssertionSeen.objects.filter(forget_after__lt=timezone.now()).delete()
    return deleted
