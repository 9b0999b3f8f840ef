"""The role API: administrators list, request, approve, refuse and revoke through the role
service; everyone else is refused, with nothing changed and the attempt audited."""

import pytest

from accounts.api import serializers as shapes
from accounts.models import Role
from accounts.selectors import user_has_role, user_roles
from audit.models import AuditEvent, AuditEventType
from tests.conftest import api_as
from tests.factories import UserFactory, refusals, role_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():  # type: ignore[no-untyped-def]
    return UserFactory(username="ada", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def dana():  # type: ignore[no-untyped-def]
    return UserFactory(username="dana", roles=[Role.ADMINISTRATOR])


def test_a_superusers_self_grant_through_the_api_is_refused_with_nothing_changed():
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    before = role_state()

    response = api_as(root).post(
        "/api/v1/roles/requests/", {"user": root.pk, "role": "compliance_officer"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "not_administrator"
    assert role_state() == before
    assert user_roles(user=root) == {Role.EMPLOYEE}
    assert refusals() == [(root.pk, "not_administrator")]
    assert api_as(root).get("/api/v1/compliance/search", {"q": "x"}).status_code == 403


def test_an_administrators_self_grant_through_the_api_is_refused(ada):
    before = role_state()

    response = api_as(ada).post(
        "/api/v1/roles/requests/", {"user": ada.pk, "role": "auditor"}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (403, "own_role")
    assert role_state() == before


def test_four_eyes_through_the_api(ada, dana):
    carol = UserFactory(username="carol")

    made = api_as(ada).post(
        "/api/v1/roles/requests/",
        {"user": carol.pk, "role": "compliance_officer", "reason": "investigation"},
        format="json",
    )
    request_id = made.json()["id"]
    pending = api_as(dana).get("/api/v1/roles/requests/").json()
    own = api_as(ada).post(f"/api/v1/roles/requests/{request_id}/approve/")
    approved = api_as(dana).post(f"/api/v1/roles/requests/{request_id}/approve/")

    assert (made.status_code, made.json()["status"]) == (201, "pending")
    assert [(p["id"], p["user"]["username"], p["reason"]) for p in pending] == [
        (request_id, "carol", "investigation")
    ]
    assert (own.status_code, own.json()["code"]) == (403, "four_eyes")
    assert approved.status_code == 200
    assert approved.json()["decided_by"]["username"] == "dana"
    assert user_has_role(user=carol, role=Role.COMPLIANCE_OFFICER)
    assert api_as(dana).get("/api/v1/roles/requests/").json() == []


def test_an_employee_grant_through_the_api_takes_effect_at_once(ada):
    bob = UserFactory(username="bob", roles=[])

    response = api_as(ada).post(
        "/api/v1/roles/requests/", {"user": bob.pk, "role": "employee"}, format="json"
    )

    assert (response.status_code, response.json()["status"]) == (201, "approved")
    assert user_roles(user=bob) == {Role.EMPLOYEE}


def test_refuse_through_the_api(ada, dana):
    bob = UserFactory(username="bob")
    request = (
        api_as(ada)
        .post("/api/v1/roles/requests/", {"user": bob.pk, "role": "auditor"}, format="json")
        .json()
    )

    response = api_as(dana).post(
        f"/api/v1/roles/requests/{request['id']}/refuse/", {"reason": "no need"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_reason"]) == (
        "refused",
        "no need",
    )
    assert user_has_role(user=bob, role=Role.AUDITOR) is False


def test_revocation_through_the_api_ends_archive_access_at_once(ada):
    olivia = UserFactory(username="olivia", roles=[Role.COMPLIANCE_OFFICER])
    officer = api_as(olivia)
    assert officer.get("/api/v1/compliance/search", {"q": "x"}).status_code == 200

    response = api_as(ada).post(
        "/api/v1/roles/revoke/",
        {"user": olivia.pk, "role": "compliance_officer", "reason": "moved desk"},
        format="json",
    )

    assert response.status_code == 204
    assert officer.get("/api/v1/compliance/search", {"q": "x"}).status_code == 403
    assert AuditEvent.objects.filter(
        event_type=AuditEventType.ROLE_REVOKED, actor=ada, details__username="olivia"
    ).exists()


@pytest.mark.parametrize(
    "kind", [Role.EMPLOYEE, Role.COMPLIANCE_OFFICER, Role.AUDITOR, "superuser"], ids=str
)
def test_only_administrators_use_the_role_api(ada, kind):
    if kind == "superuser":
        actor = UserFactory(username="root", is_superuser=True, is_staff=True)
    else:
        actor = UserFactory(username="actor", roles=[kind])
    bob = UserFactory(username="bob")
    request = (
        api_as(ada)
        .post("/api/v1/roles/requests/", {"user": bob.pk, "role": "auditor"}, format="json")
        .json()
    )
    client = api_as(actor)
    before = role_state()

    answers = [
        client.get("/api/v1/roles/grants/"),
        client.get("/api/v1/roles/requests/"),
        client.post("/api/v1/roles/requests/", {"user": bob.pk, "role": "auditor"}, format="json"),
        client.post(f"/api/v1/roles/requests/{request['id']}/approve/"),
        client.post(f"/api/v1/roles/requests/{request['id']}/refuse/"),
        client.post("/api/v1/roles/revoke/", {"user": bob.pk, "role": "employee"}, format="json"),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(403, "not_administrator")] * 6
    assert role_state() == before
    assert len(refusals()) == 4  # every attempted change; reads are refused without a record


def test_the_role_api_needs_an_account(api):
    assert api.get("/api/v1/roles/grants/").status_code in (401, 403)
    assert api.post("/api/v1/roles/revoke/", {}, format="json").status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"user": "x", "role": "auditor"}, 400, "invalid_input"),
        ({"role": "auditor"}, 400, "invalid_input"),
        ({"user": 1, "role": "a" * 40}, 400, "invalid_input"),
        ({"user": 999999, "role": "auditor"}, 404, "not_found"),
        ({"user": 999999, "role": "emperor"}, 400, "invalid_role"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(ada, body, status, code):
    before = role_state()

    response = api_as(ada).post("/api/v1/roles/requests/", body, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert role_state() == before


def test_an_unknown_request_is_404(ada):
    response = api_as(ada).post("/api/v1/roles/requests/424242/approve/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_documented_shapes_match_what_the_api_answers(ada, dana):
    bob = UserFactory(username="bob")
    api_as(ada).post("/api/v1/roles/requests/", {"user": bob.pk, "role": "auditor"}, format="json")

    grants = api_as(dana).get("/api/v1/roles/grants/").json()
    pending = api_as(dana).get("/api/v1/roles/requests/").json()

    assert {key for grant in grants for key in grant} == set(shapes.RoleGrantOutput().fields)
    assert set(pending[0]) == set(shapes.RoleRequestOutput().fields)
    assert set(pending[0]["user"]) == set(shapes.PersonOutput().fields)
    assert [(g["user"]["username"], g["role"]) for g in grants] == [
        ("ada", "administrator"),
        ("bob", "employee"),
        ("dana", "administrator"),
    ]
