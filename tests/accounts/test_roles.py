"""Roles: granted explicitly, idempotently; a Django superuser implies none of them."""

import pytest

from accounts.models import Role, RoleGrant
from accounts.selectors import user_has_role, user_roles
from accounts.services import user_grant_role
from tests.conftest import api_as
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_granting_a_role_twice_keeps_one_grant(alice):
    admin = UserFactory(username="root-admin", roles=[Role.ADMINISTRATOR])

    first = user_grant_role(user=alice, role=Role.AUDITOR, granted_by=admin)
    second = user_grant_role(user=alice, role=Role.AUDITOR)

    assert first.pk == second.pk
    assert second.granted_by == admin
    assert RoleGrant.objects.filter(user=alice, role=Role.AUDITOR).count() == 1


def test_a_superuser_holds_no_role_it_was_not_granted():
    root = UserFactory(username="root", is_superuser=True, is_staff=True, roles=[Role.EMPLOYEE])

    assert user_roles(user=root) == {Role.EMPLOYEE}
    assert user_has_role(user=root, role=Role.COMPLIANCE_OFFICER) is False
    assert api_as(root).get("/api/v1/me/").json()["roles"] == ["employee"]
