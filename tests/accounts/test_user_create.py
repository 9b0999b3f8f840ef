"""accounts.services.user_create: a refusal caught by its caller leaves the caller's
transaction usable (the savepoint); without one, as SCIM's creation asks, it ends it."""

import pytest
from django.db import IntegrityError, transaction
from django.db.transaction import TransactionManagementError

from accounts.models import User
from accounts.services import user_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_clash_caught_by_the_caller_leaves_its_transaction_usable():
    UserFactory(username="ada")

    with transaction.atomic():
        with pytest.raises(IntegrityError):
            user_create(username="ada", by=None, via="test")
        grace = user_create(username="grace", by=None, via="test")

    assert set(User.objects.values_list("username", flat=True)) == {"ada", "grace"}
    assert grace.pk is not None


def test_without_the_savepoint_a_clash_ends_the_callers_transaction():
    UserFactory(username="ada")

    with transaction.atomic():
        with pytest.raises(IntegrityError):
            user_create(username="ada", by=None, via="test", savepoint=False)
        with pytest.raises(TransactionManagementError):
            User.objects.count()

    assert list(User.objects.values_list("username", flat=True)) == ["ada"]
