"""The SAML assertion replay cache."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.sso.models import SamlAssertionSeen
from accounts.sso.replay import assertion_first_use
from accounts.sso.tasks import assertions_forget_task

pytestmark = pytest.mark.django_db


def test_an_assertion_is_accepted_once_per_issuer():
    until = timezone.now() + timedelta(minutes=5)

    first = assertion_first_use(issuer="idp-a", assertion_id="_1", not_on_or_after=until)
    again = assertion_first_use(issuer="idp-a", assertion_id="_1", not_on_or_after=until)
    other_issuer = assertion_first_use(issuer="idp-b", assertion_id="_1", not_on_or_after=until)

    assert (first, again, other_issuer) == (True, False, True)


def test_only_assertions_that_could_no_longer_be_accepted_are_forgotten(settings):
    now = timezone.now()
    skew = timedelta(seconds=settings.EIM_SAML_CLOCK_SKEW_SECONDS)
    assertion_first_use(issuer="i", assertion_id="_old", not_on_or_after=now - skew - skew)
    assertion_first_use(issuer="i", assertion_id="_in_skew", not_on_or_after=now - skew / 2)
    assertion_first_use(issuer="i", assertion_id="_live", not_on_or_after=now + skew)

    forgotten = assertions_forget_task()

    assert forgotten == 1
    assert set(SamlAssertionSeen.objects.values_list("assertion_id", flat=True)) == {
        "_in_skew",
        "_live",
    }
    # Still refused while remembered.
    assert not assertion_first_use(issuer="i", assertion_id="_in_skew", not_on_or_after=now)
