"""Two bootstraps at the same moment make at most the quorum of administrators."""

import contextlib
import threading

import pytest
from django.db import connection

from accounts.errors import RoleError
from accounts.models import Role, RoleGrant
from accounts.services import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_bootstraps_at_once_never_make_a_third_administrator(monkeypatch):
    UserFactory(username="first-admin", roles=[Role.ADMINISTRATOR])
    candidates = [UserFactory(username=f"candidate-{i}") for i in range(2)]
    # Both bootstraps have counted the administrators before either writes its grant, unless
    # one waits for the other: the wait at the barrier then times out and it goes on.
    both_counted = threading.Barrier(2, timeout=2)
    grantable = roles._require_grantable

    def after_the_count(*args, **kwargs):  # type: ignore[no-untyped-def]
        with contextlib.suppress(threading.BrokenBarrierError):
            both_counted.wait()
        return grantable(*args, **kwargs)

    monkeypatch.setattr(roles, "_require_grantable", after_the_count)
    outcomes: list[str] = []

    def bootstrap(user_id: int) -> None:
        try:
            roles.role_bootstrap(user_id=user_id, operator="ops")
            outcomes.append("granted")
        except RoleError as refusal:
            outcomes.append(refusal.code.value)
        finally:
            connection.close()

    threads = [threading.Thread(target=bootstrap, args=(c.pk,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["bootstrap_closed", "granted"]
    assert RoleGrant.objects.filter(role=Role.ADMINISTRATOR).count() == 2
