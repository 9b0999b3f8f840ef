"""Roles through the one role service: separation of duties, four eyes, expiry, revocation.

Every refusal leaves the roles as they were and one `role.refused` audit event behind.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.errors import RoleError, RoleErrorCode
from accounts.models import Role, RoleGrant, RoleRequestStatus, User
from accounts.selectors import user_has_role, user_roles
from accounts.services import access
from accounts.services.access import AccessChange
from accounts.services.roles import (
    role_bootstrap,
    role_request,
    role_request_approve,
    role_request_refuse,
    role_requests_expire,
    role_revoke,
)
from audit.models import AuditEvent, AuditEventType
from tests.conftest import api_as
from tests.factories import UserFactory, refusals, role_state

pytestmark = pytest.mark.django_db

ALL_ROLES = list(Role)


def assert_refused(code: RoleErrorCode, actor: User | None, call: Any) -> None:
    before, refused_before = role_state(), refusals()

    with pytest.raises(RoleError) as refusal:
        call()

    assert refusal.value.code == code
    assert role_state() == before
    assert refusals() == [*refused_before, (actor.pk if actor else None, code.value)]


@pytest.fixture
def admin() -> User:
    return UserFactory(username="ada", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def second_admin() -> User:
    return UserFactory(username="dana", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def later(monkeypatch):  # type: ignore[no-untyped-def]
    """Move the clock forward by some hours."""

    def move(hours: float) -> None:
        moved = timezone.now() + timedelta(hours=hours)
        monkeypatch.setattr(timezone, "now", lambda: moved)

    return move


# --- Who may change roles: the authorization matrix ------------------------------------------

ACTORS = {
    "employee": {"roles": [Role.EMPLOYEE]},
    "superuser": {"roles": [Role.EMPLOYEE], "is_superuser": True, "is_staff": True},
    "superuser without roles": {"roles": [], "is_superuser": True, "is_staff": True},
    "compliance officer": {"roles": [Role.COMPLIANCE_OFFICER]},
    "auditor": {"roles": [Role.AUDITOR]},
    "deactivated administrator": {"roles": [Role.ADMINISTRATOR], "is_active": False},
}


@pytest.mark.parametrize("target", ["self", "other"])
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("actor_kind", list(ACTORS))
def test_only_an_active_administrator_may_request_a_role(actor_kind, role, target):
    actor = UserFactory(username="actor", **ACTORS[actor_kind])
    subject = actor if target == "self" else UserFactory(username="subject", roles=[])

    assert_refused(
        RoleErrorCode.NOT_ADMINISTRATOR,
        actor,
        lambda: role_request(actor=actor, user_id=subject.pk, role=role),
    )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_an_administrator_may_not_request_a_role_for_themselves(admin, role):
    assert_refused(
        RoleErrorCode.OWN_ROLE,
        admin,
        lambda: role_request(actor=admin, user_id=admin.pk, role=role),
    )


@pytest.mark.parametrize("target", ["self", "other"])
@pytest.mark.parametrize("actor_kind", list(ACTORS))
def test_only_an_active_administrator_may_revoke_a_role(actor_kind, target):
    actor = UserFactory(username="actor", **ACTORS[actor_kind])
    subject = actor if target == "self" else UserFactory(username="subject")
    role = (user_roles(user=subject) or {Role.EMPLOYEE}).pop()

    assert_refused(
        RoleErrorCode.NOT_ADMINISTRATOR,
        actor,
        lambda: role_revoke(actor=actor, user_id=subject.pk, role=role),
    )


def test_an_administrator_may_not_revoke_their_own_role(admin, second_admin):
    assert_refused(
        RoleErrorCode.OWN_ROLE,
        admin,
        lambda: role_revoke(actor=admin, user_id=admin.pk, role=Role.ADMINISTRATOR),
    )
    assert user_has_role(user=admin, role=Role.ADMINISTRATOR)


@pytest.mark.parametrize("actor_kind", list(ACTORS))
def test_only_an_active_administrator_may_approve_or_refuse(admin, actor_kind):
    actor = UserFactory(username="actor", **ACTORS[actor_kind])
    pending = role_request(
        actor=admin, user_id=UserFactory(username="bob").pk, role=Role.COMPLIANCE_OFFICER
    )

    assert_refused(
        RoleErrorCode.NOT_ADMINISTRATOR,
        actor,
        lambda: role_request_approve(actor=actor, request_id=pending.pk),
    )
    assert_refused(
        RoleErrorCode.NOT_ADMINISTRATOR,
        actor,
        lambda: role_request_refuse(actor=actor, request_id=pending.pk),
    )


def test_a_superuser_administrator_still_cannot_make_themselves_compliance_officer(admin):
    root = UserFactory(username="root", is_superuser=True, roles=[Role.ADMINISTRATOR])

    assert_refused(
        RoleErrorCode.OWN_ROLE,
        root,
        lambda: role_request(actor=root, user_id=root.pk, role=Role.COMPLIANCE_OFFICER),
    )
    (event,) = AuditEvent.objects.filter(event_type=AuditEventType.ROLE_REFUSED)
    assert event.details["actor_is_superuser"] is True


def test_an_unknown_role_or_user_is_refused_and_audited(admin):
    assert_refused(
        RoleErrorCode.INVALID_ROLE,
        admin,
        lambda: role_request(actor=admin, user_id=admin.pk + 1000, role="god"),
    )
    assert_refused(
        RoleErrorCode.NOT_FOUND,
        admin,
        lambda: role_request(actor=admin, user_id=admin.pk + 1000, role=Role.EMPLOYEE),
    )


# --- Employee: one administrator, at once ------------------------------------------------------


def test_an_administrator_grants_the_employee_role_at_once(admin):
    bob = UserFactory(username="bob", roles=[])

    request = role_request(actor=admin, user_id=bob.pk, role=Role.EMPLOYEE, reason="joined")

    grant = RoleGrant.objects.get(user=bob, role=Role.EMPLOYEE)
    assert (request.status, request.requested_by, request.decided_by) == (
        RoleRequestStatus.APPROVED,
        admin,
        admin,
    )
    assert (grant.request, grant.granted_by) == (request, admin)
    assert list(AuditEvent.objects.values_list("event_type", "actor", "details__reason")) == [
        (AuditEventType.ROLE_GRANTED, admin.pk, "joined")
    ]


def test_a_held_role_is_not_granted_twice(admin):
    bob = UserFactory(username="bob")

    assert_refused(
        RoleErrorCode.ALREADY_HELD,
        admin,
        lambda: role_request(actor=admin, user_id=bob.pk, role=Role.EMPLOYEE),
    )


def test_a_deactivated_user_is_given_no_role(admin):
    gone = UserFactory(username="gone", roles=[], is_active=False)

    assert_refused(
        RoleErrorCode.INACTIVE_USER,
        admin,
        lambda: role_request(actor=admin, user_id=gone.pk, role=Role.EMPLOYEE),
    )


# --- Four eyes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", [Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR], ids=str
)
def test_a_request_alone_grants_nothing(admin, role):
    bob = UserFactory(username="bob")

    request = role_request(actor=admin, user_id=bob.pk, role=role, reason="new hire")

    assert request.status == RoleRequestStatus.PENDING
    assert request.expires_at == request.requested_at + timedelta(hours=72)
    assert user_roles(user=bob) == {Role.EMPLOYEE}
    assert list(AuditEvent.objects.values_list("event_type", "actor", "details__role")) == [
        (AuditEventType.ROLE_REQUESTED, admin.pk, role.value)
    ]


def test_a_pending_compliance_officer_cannot_use_the_archive(admin):
    bob = UserFactory(username="bob")
    role_request(actor=admin, user_id=bob.pk, role=Role.COMPLIANCE_OFFICER)

    response = api_as(bob).get("/api/v1/compliance/search", {"q": "x"})

    assert response.status_code == 403


def test_the_requesting_administrator_cannot_approve_their_own_request(admin, second_admin):
    bob = UserFactory(username="bob")
    request = role_request(actor=admin, user_id=bob.pk, role=Role.COMPLIANCE_OFFICER)

    assert_refused(
        RoleErrorCode.FOUR_EYES,
        admin,
        lambda: role_request_approve(actor=admin, request_id=request.pk),
    )
    assert user_has_role(user=bob, role=Role.COMPLIANCE_OFFICER) is False


def test_the_subject_cannot_approve_a_request_for_themselves(admin):
    bob = UserFactory(username="bob")
    request = role_request(actor=admin, user_id=bob.pk, role=Role.AUDITOR)
    bob_as_admin = UserFactory(username="bob", roles=[Role.ADMINISTRATOR])

    assert_refused(
        RoleErrorCode.OWN_ROLE,
        bob_as_admin,
        lambda: role_request_approve(actor=bob_as_admin, request_id=request.pk),
    )
    assert user_has_role(user=bob, role=Role.AUDITOR) is False


def test_a_second_administrators_approval_grants_the_role(admin, second_admin):
    bob = UserFactory(username="bob")
    request = role_request(actor=admin, user_id=bob.pk, role=Role.COMPLIANCE_OFFICER)

    approved = role_request_approve(actor=second_admin, request_id=request.pk)

    grant = RoleGrant.objects.get(user=bob, role=Role.COMPLIANCE_OFFICER)
    assert (approved.status, approved.decided_by) == (RoleRequestStatus.APPROVED, second_admin)
    assert (grant.granted_by, grant.request) == (second_admin, request)
    assert api_as(bob).get("/api/v1/compliance/search", {"q": "x"}).status_code == 200
    assert list(AuditEvent.objects.order_by("pk").values_list("event_type", "actor")) == [
        (AuditEventType.ROLE_REQUESTED, admin.pk),
        (AuditEventType.ROLE_APPROVED, second_admin.pk),
        (AuditEventType.SEARCH_RUN, bob.pk),
    ]


def test_a_request_is_approved_once(admin, second_admin):
    third = UserFactory(username="third", roles=[Role.ADMINISTRATOR])
    request = role_request(actor=admin, user_id=UserFactory().pk, role=Role.AUDITOR)
    role_request_approve(actor=second_admin, request_id=request.pk)

    assert_refused(
        RoleErrorCode.NOT_PENDING,
        third,
        lambda: role_request_approve(actor=third, request_id=request.pk),
    )


def test_a_request_made_by_an_administrator_since_removed_cannot_be_approved(admin, second_admin):
    third = UserFactory(username="third", roles=[Role.ADMINISTRATOR])
    bob = UserFactory(username="bob")
    request = role_request(actor=admin, user_id=bob.pk, role=Role.COMPLIANCE_OFFICER)
    role_revoke(actor=second_admin, user_id=admin.pk, role=Role.ADMINISTRATOR)

    assert_refused(
        RoleErrorCode.FOUR_EYES,
        third,
        lambda: role_request_approve(actor=third, request_id=request.pk),
    )


def test_a_second_request_for_the_same_role_waits_for_the_first(admin, second_admin):
    bob = UserFactory(username="bob")
    role_request(actor=admin, user_id=bob.pk, role=Role.AUDITOR)

    assert_refused(
        RoleErrorCode.ALREADY_REQUESTED,
        second_admin,
        lambda: role_request(actor=second_admin, user_id=bob.pk, role=Role.AUDITOR),
    )


def test_a_refused_request_grants_nothing_and_is_audited(admin, second_admin):
    bob = UserFactory(username="bob")
    request = role_request(actor=admin, user_id=bob.pk, role=Role.AUDITOR)

    refused = role_request_refuse(actor=second_admin, request_id=request.pk, reason="not needed")

    assert (refused.status, refused.decided_by, refused.decision_reason) == (
        RoleRequestStatus.REFUSED,
        second_admin,
        "not needed",
    )
    assert user_has_role(user=bob, role=Role.AUDITOR) is False
    assert AuditEvent.objects.order_by("pk").last().event_type == (  # type: ignore[union-attr]
        AuditEventType.ROLE_REQUEST_REFUSED
    )


@pytest.mark.parametrize(
    ("held", "wanted"),
    [
        (Role.ADMINISTRATOR, Role.COMPLIANCE_OFFICER),
        (Role.ADMINISTRATOR, Role.AUDITOR),
        (Role.COMPLIANCE_OFFICER, Role.AUDITOR),
        (Role.AUDITOR, Role.ADMINISTRATOR),
    ],
    ids=str,
)
def test_the_watching_roles_exclude_one_another(admin, held, wanted):
    bob = UserFactory(username="bob", roles=[held])

    assert_refused(
        RoleErrorCode.CONFLICTING_ROLE,
        admin,
        lambda: role_request(actor=admin, user_id=bob.pk, role=wanted),
    )


# --- Expiry --------------------------------------------------------------------------------


def test_an_expired_request_cannot_be_approved(admin, second_admin, later):
    bob = UserFactory(username="bob")
    request = role_request(actor=admin, user_id=bob.pk, role=Role.COMPLIANCE_OFFICER)
    grants = role_state()["grants"]
    later(72.01)

    with pytest.raises(RoleError) as refusal:
        role_request_approve(actor=second_admin, request_id=request.pk)

    request.refresh_from_db()
    assert refusal.value.code == RoleErrorCode.EXPIRED
    assert (request.status, request.decided_by) == (RoleRequestStatus.EXPIRED, None)
    assert role_state()["grants"] == grants
    assert refusals() == [(second_admin.pk, "expired")]
    assert AuditEvent.objects.filter(
        event_type=AuditEventType.ROLE_EXPIRED, actor=None, details__request_id=request.pk
    ).exists()


def test_a_request_can_be_approved_until_it_expires(admin, second_admin, later):
    request = role_request(actor=admin, user_id=UserFactory().pk, role=Role.AUDITOR)
    later(71.9)

    assert role_request_approve(actor=second_admin, request_id=request.pk).status == "approved"


def test_the_expiry_is_configurable(admin, settings):
    settings.EIM_ROLE_APPROVAL_TTL_HOURS = 4

    request = role_request(actor=admin, user_id=UserFactory().pk, role=Role.AUDITOR)

    assert request.expires_at - request.requested_at == timedelta(hours=4)


def test_the_sweeper_expires_due_requests_once_and_audits_each(admin, later):
    due = role_request(actor=admin, user_id=UserFactory().pk, role=Role.AUDITOR)
    later(73)

    assert (role_requests_expire(), role_requests_expire()) == (1, 0)
    due.refresh_from_db()
    assert due.status == RoleRequestStatus.EXPIRED
    assert AuditEvent.objects.filter(event_type=AuditEventType.ROLE_EXPIRED).count() == 1


def test_after_expiry_the_role_can_be_requested_again(admin, later):
    bob = UserFactory(username="bob")
    role_request(actor=admin, user_id=bob.pk, role=Role.AUDITOR)
    later(73)

    again = role_request(actor=admin, user_id=bob.pk, role=Role.AUDITOR)

    assert again.status == RoleRequestStatus.PENDING


# --- Revocation ----------------------------------------------------------------------------


def test_revocation_removes_access_at_once_and_is_audited(
    admin, monkeypatch, django_capture_on_commit_callbacks
):
    heard: list[tuple[int, AccessChange]] = []
    monkeypatch.setattr(access, "_hooks", [lambda user_id, change: heard.append((user_id, change))])
    officer = UserFactory(username="olivia", roles=[Role.COMPLIANCE_OFFICER])
    client = api_as(officer)
    assert client.get("/api/v1/compliance/search", {"q": "x"}).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        role_revoke(
            actor=admin, user_id=officer.pk, role=Role.COMPLIANCE_OFFICER, reason="left the team"
        )

    assert client.get("/api/v1/compliance/search", {"q": "x"}).status_code == 403
    assert user_roles(user=officer) == set()
    assert heard == [(officer.pk, AccessChange.ROLE_REVOKED)]
    revoked = AuditEvent.objects.get(event_type=AuditEventType.ROLE_REVOKED)
    assert (revoked.actor, revoked.details["username"], revoked.details["reason"]) == (
        admin,
        "olivia",
        "left the team",
    )


def test_revoking_a_role_not_held_is_refused(admin):
    bob = UserFactory(username="bob")

    assert_refused(
        RoleErrorCode.NOT_FOUND,
        admin,
        lambda: role_revoke(actor=admin, user_id=bob.pk, role=Role.AUDITOR),
    )


# --- Bootstrap -----------------------------------------------------------------------------


def test_the_first_two_administrators_come_from_the_bootstrap():
    first, second = UserFactory(username="first"), UserFactory(username="second")

    role_bootstrap(user_id=first.pk, operator="ops")
    role_bootstrap(user_id=second.pk, operator="ops")

    assert user_has_role(user=first, role=Role.ADMINISTRATOR)
    assert user_has_role(user=second, role=Role.ADMINISTRATOR)
    assert (
        list(
            AuditEvent.objects.order_by("pk").values_list(
                "event_type", "actor", "details__bootstrap", "details__operator"
            )
        )
        == [(AuditEventType.ROLE_GRANTED, None, True, "ops")] * 2
    )


def test_the_bootstrap_closes_once_two_administrators_are_active(admin, second_admin):
    mallory = UserFactory(username="mallory")

    assert_refused(
        RoleErrorCode.BOOTSTRAP_CLOSED,
        None,
        lambda: role_bootstrap(user_id=mallory.pk, operator="ops"),
    )
    assert user_has_role(user=mallory, role=Role.ADMINISTRATOR) is False


# --- The refusal's record survives the refusal -----------------------------------------------


def test_a_role_change_cannot_run_inside_a_callers_transaction(admin):
    bob = UserFactory(username="bob")
    before = role_state()

    with pytest.raises(RuntimeError), transaction.atomic():
        role_request(actor=admin, user_id=bob.pk, role=Role.AUDITOR)

    assert role_state() == before
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_refusals_audit_event_is_committed_though_the_change_fails():
    root = UserFactory(username="root", is_superuser=True, is_staff=True)

    with pytest.raises(RoleError):
        role_request(actor=root, user_id=root.pk, role=Role.COMPLIANCE_OFFICER)

    assert not transaction.get_connection().in_atomic_block
    assert refusals() == [(root.pk, RoleErrorCode.NOT_ADMINISTRATOR.value)]
    assert role_state() == {
        "grants": [(RoleGrant.objects.get().pk, root.pk, "employee")],
        "requests": [],
    }


def test_a_deactivated_persons_request_can_be_refused_but_not_approved(admin, second_admin):
    bob = UserFactory(username="bob")
    request = role_request(actor=admin, user_id=bob.pk, role=Role.AUDITOR)
    User.objects.filter(pk=bob.pk).update(is_active=False)

    assert_refused(
        RoleErrorCode.INACTIVE_USER,
        second_admin,
        lambda: role_request_approve(actor=second_admin, request_id=request.pk),
    )
    refused = role_request_refuse(actor=second_admin, request_id=request.pk, reason="left")

    assert refused.status == RoleRequestStatus.REFUSED
    assert user_has_role(user=bob, role=Role.AUDITOR) is False
