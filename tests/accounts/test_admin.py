"""Django's admin changes no role on its own: its actions call the role service as the signed-in
user, and a superuser is refused like anyone else."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import Role, RoleGrant, RoleRequest, User
from accounts.selectors import user_has_role, user_roles
from audit.models import AuditEvent, AuditEventType
from tests.factories import UserFactory, role_state

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root() -> User:
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def user_change_form(user: User, **extra: str) -> dict[str, Any]:
    """What the user change form posts, with the role grant inline's management form."""
    return {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "display_name": user.display_name,
        "roles-TOTAL_FORMS": "1",
        "roles-INITIAL_FORMS": "0",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
        "roles-0-id": "",
        "roles-0-user": str(user.pk),
        "roles-0-role": "compliance_officer",
        "roles-0-granted_by": str(user.pk),
        "_save": "Save",
        **extra,
    }


def test_a_superuser_cannot_grant_themselves_a_role_through_the_user_change_form(root):
    before = role_state()

    response = signed_in(root).post(
        f"/django-admin/accounts/user/{root.pk}/change/", user_change_form(root)
    )

    assert response.status_code == 302  # the rest of the form saved; the grant did not
    assert role_state() == before
    assert user_has_role(user=root, role=Role.COMPLIANCE_OFFICER) is False
    assert signed_in(root).get("/api/v1/compliance/search", {"q": "x"}).status_code == 403


def test_an_administrator_cannot_grant_anyone_a_role_through_the_user_change_form():
    admin = UserFactory(
        username="ada", is_superuser=True, is_staff=True, roles=[Role.ADMINISTRATOR]
    )
    bob = UserFactory(username="bob")
    before = role_state()

    signed_in(admin).post(f"/django-admin/accounts/user/{bob.pk}/change/", user_change_form(bob))

    assert role_state() == before


def test_a_superusers_self_grant_through_an_admin_action_is_refused_and_audited(root):
    before = role_state()

    response = signed_in(root).post(
        "/django-admin/accounts/user/",
        {"action": "request_compliance_officer", "_selected_action": [str(root.pk)]},
        follow=True,
    )

    assert role_state() == before
    assert user_roles(user=root) == {Role.EMPLOYEE}
    assert "refused" in response.content.decode()
    refusal = AuditEvent.objects.get()
    assert (refusal.event_type, refusal.actor, refusal.details["actor_is_superuser"]) == (
        AuditEventType.ROLE_REFUSED,
        root,
        True,
    )


def test_admin_actions_request_and_approve_as_the_signed_in_administrators():
    ada = UserFactory(username="ada", is_staff=True, is_superuser=True, roles=[Role.ADMINISTRATOR])
    dana = UserFactory(
        username="dana", is_staff=True, is_superuser=True, roles=[Role.ADMINISTRATOR]
    )
    carol = UserFactory(username="carol")

    signed_in(ada).post(
        "/django-admin/accounts/user/",
        {"action": "request_compliance_officer", "_selected_action": [str(carol.pk)]},
    )
    request = RoleRequest.objects.get()
    own = signed_in(ada).post(
        "/django-admin/accounts/rolerequest/",
        {"action": "approve", "_selected_action": [str(request.pk)]},
        follow=True,
    )
    assert user_has_role(user=carol, role=Role.COMPLIANCE_OFFICER) is False
    signed_in(dana).post(
        "/django-admin/accounts/rolerequest/",
        {"action": "approve", "_selected_action": [str(request.pk)]},
    )

    assert "refused" in own.content.decode()
    assert request.requested_by == ada
    assert RoleGrant.objects.get(user=carol, role=Role.COMPLIANCE_OFFICER).granted_by == dana


def test_grants_and_requests_cannot_be_added_changed_or_deleted_in_the_admin(root):
    client = signed_in(root)
    grant = RoleGrant.objects.get(user=root)
    before = role_state()

    add = client.post("/django-admin/accounts/rolegrant/add/", {"user": root.pk, "role": "auditor"})
    change = client.post(
        f"/django-admin/accounts/rolegrant/{grant.pk}/change/", {"user": root.pk, "role": "auditor"}
    )
    delete = client.post(f"/django-admin/accounts/rolegrant/{grant.pk}/delete/", {"post": "yes"})
    add_request = client.post(
        "/django-admin/accounts/rolerequest/add/", {"user": root.pk, "role": "auditor"}
    )

    assert [add.status_code, change.status_code, delete.status_code, add_request.status_code] == [
        403,
        403,
        403,
        403,
    ]
    assert role_state() == before


def test_the_role_pages_show_grants_and_requests(root):
    ada = UserFactory(username="ada", is_staff=True, is_superuser=True, roles=[Role.ADMINISTRATOR])
    signed_in(ada).post(
        "/django-admin/accounts/user/",
        {"action": "request_auditor", "_selected_action": [str(root.pk)]},
    )
    client = signed_in(root)

    pages = [
        client.get(f"/django-admin/accounts/user/{root.pk}/change/"),
        client.get("/django-admin/accounts/rolerequest/"),
        client.get("/django-admin/accounts/rolegrant/"),
        client.get(f"/django-admin/accounts/rolerequest/{RoleRequest.objects.get().pk}/change/"),
    ]

    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    assert "Pending approval" in pages[1].content.decode()
