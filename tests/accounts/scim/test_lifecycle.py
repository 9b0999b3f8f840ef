"""The whole lifecycle an identity provider drives, in the request shapes Okta and Entra ID
really send: look up, create, update, add to a group, remove from it, deactivate, reactivate."""

from urllib.parse import quote

import pytest
from auditlog.models import LogEntry
from knox.models import AuthToken

from accounts.models import ExternalIdentity, Group, GroupSource, User
from accounts.services import api_token_create
from audit.models import AuditEvent

from .conftest import ENTERPRISE, GROUP, USER, ScimClient, patch_op

pytestmark = pytest.mark.django_db


def _okta_user(user_name: str, external_id: str) -> dict:
    """What Okta's SCIM 2.0 client POSTs (its documented test payload)."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "1mP0ssibl3-t0-Gu3ss",
        "active": True,
    }


def _entra_user(user_name: str, object_id: str) -> dict:
    """What Entra ID's provisioning service POSTs."""
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": object_id,
        "userName": user_name,
        "active": True,
        "addresses": [{"primary": True, "type": "work", "country": "GB"}],
        "displayName": "Grace Hopper",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
        "roles": [],
        ENTERPRISE: {"department": "Rates", "employeeNumber": "E-42"},
    }


def _look_up(scim: ScimClient, user_name: str) -> dict:
    expression = quote(f'userName eq "{user_name}"')
    return scim.get(f"/Users?filter={expression}&startIndex=1&count=100").json()


def test_okta_lifecycle(okta: ScimClient):
    # Okta first looks the person up, then creates them.
    assert _look_up(okta, "ada@example.com")["totalResults"] == 0
    created = okta.post("/Users", _okta_user("ada@example.com", "00u1ada"))
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    user = User.objects.get(pk=user_id)
    assert not user.has_usable_password()  # Okta's password is not kept
    assert ExternalIdentity.objects.get(user=user).subject == "00u1ada"
    assert _look_up(okta, "ada@example.com")["Resources"][0]["id"] == user_id

    # A profile change: Okta PUTs the whole user.
    changed = _okta_user("ada@example.com", "00u1ada") | {"displayName": "Ada King"}
    assert okta.put(f"/Users/{user_id}", changed).json()["displayName"] == "Ada King"

    # Push a group, add the person, remove them.
    group = okta.post("/Groups", {"schemas": [GROUP], "displayName": "Traders", "members": []})
    assert group.status_code == 201
    group_id = group.json()["id"]
    added = okta.patch(
        f"/Groups/{group_id}",
        patch_op(
            {
                "op": "add",
                "path": "members",
                "value": [{"value": user_id, "display": "ada@example.com"}],
            }
        ),
    )
    assert added.status_code == 204
    assert list(Group.objects.get(pk=group_id).members.all()) == [user]
    renamed = okta.patch(
        f"/Groups/{group_id}",
        patch_op({"op": "replace", "value": {"id": group_id, "displayName": "FX Traders"}}),
    )
    assert renamed.status_code == 204
    removed = okta.patch(
        f"/Groups/{group_id}",
        patch_op({"op": "remove", "path": f'members[value eq "{user_id}"]'}),
    )
    assert removed.status_code == 204
    group_row = Group.objects.get(pk=group_id)
    assert (group_row.display_name, group_row.members.count()) == ("FX Traders", 0)
    assert (group_row.source, group_row.provider.slug) == (GroupSource.SCIM, "okta")

    # Deprovision: a path-less replace of active.
    token = api_token_create(user=user)
    deactivated = okta.patch(
        f"/Users/{user_id}", patch_op({"op": "replace", "value": {"active": False}})
    )
    assert deactivated.status_code == 200
    assert deactivated.json()["active"] is False
    user.refresh_from_db()
    assert not user.is_active
    assert not AuthToken.objects.filter(user=user).exists()
    assert token

    # Reactivate.
    reactivated = okta.patch(
        f"/Users/{user_id}", patch_op({"op": "replace", "value": {"active": True}})
    )
    assert reactivated.json()["active"] is True
    user.refresh_from_db()
    assert user.is_active

    types = list(
        AuditEvent.objects.filter(details__via="scim:okta")
        .order_by("seq")
        .values_list("event_type", flat=True)
    )
    assert types == [
        "user.created",
        "user.profile_updated",
        "group.created",
        "group.members_added",
        "group.updated",
        "group.members_removed",
        "user.deactivated",
        "user.reactivated",
    ]


def test_entra_lifecycle(scim: ScimClient):
    assert _look_up(scim, "grace@example.com")["totalResults"] == 0
    created = scim.post("/Users", _entra_user("grace@example.com", "0b1c-oid"))
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    manager_id = scim.post("/Users", _entra_user("boss@example.com", "boss-oid")).json()["id"]

    # Entra ID's PATCH: capitalised op names, one path per attribute, the manager by id.
    updated = scim.patch(
        f"/Users/{user_id}",
        patch_op(
            {"op": "Replace", "path": "displayName", "value": "Grace B. Hopper"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "gh@example.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Grace B."},
            {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Credit"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager_id},
            {"op": "Replace", "path": 'addresses[type eq "work"].country', "value": "US"},
        ),
    )
    assert updated.status_code == 200, updated.content
    body = updated.json()
    assert body["displayName"] == "Grace B. Hopper"
    assert body["emails"][0]["value"] == "gh@example.com"
    assert body["name"]["givenName"] == "Grace B."
    assert body[ENTERPRISE]["department"] == "Credit"
    assert body[ENTERPRISE]["manager"]["value"] == manager_id
    assert User.objects.get(pk=user_id).username == "grace@example.com"

    # Groups: Entra sends externalId (the group's object id), looks up without members.
    group = scim.post(
        "/Groups",
        {
            "schemas": [GROUP],
            "externalId": "grp-oid",
            "displayName": "Rates desk",
            "meta": {"resourceType": "Group"},
        },
    ).json()
    group_id = group["id"]
    found = scim.get(
        "/Groups?excludedAttributes=members&filter=" + quote('displayName eq "Rates desk"')
    ).json()
    assert [g["id"] for g in found["Resources"]] == [group_id]
    assert Group.objects.get(pk=group_id).external_id == "grp-oid"
    add = scim.patch(
        f"/Groups/{group_id}",
        patch_op({"op": "Add", "path": "members", "value": [{"value": user_id}]}),
    )
    assert add.status_code == 204
    member_check = scim.get(
        "/Groups?excludedAttributes=members&filter="
        + quote(f'id eq "{group_id}" and members[value eq "{user_id}"]')
    ).json()
    assert member_check["totalResults"] == 1
    remove = scim.patch(
        f"/Groups/{group_id}",
        patch_op({"op": "Remove", "path": "members", "value": [{"value": user_id}]}),
    )
    assert remove.status_code == 204
    assert not Group.objects.get(pk=group_id).members.exists()

    # Deprovision with the string "False", reactivate with "True".
    off = scim.patch(
        f"/Users/{user_id}", patch_op({"op": "Replace", "path": "active", "value": "False"})
    )
    assert off.json()["active"] is False
    assert not User.objects.get(pk=user_id).is_active
    on = scim.patch(
        f"/Users/{user_id}", patch_op({"op": "Replace", "path": "active", "value": "True"})
    )
    assert on.json()["active"] is True
    assert User.objects.get(pk=user_id).is_active

    # Entra deletes after its soft-delete period: the person is deactivated, never deleted.
    assert scim.delete(f"/Users/{user_id}").status_code == 204
    assert not User.objects.get(pk=user_id).is_active
    assert scim.get(f"/Users/{user_id}").json()["active"] is False


def test_a_patch_with_nothing_new_records_nothing(scim: ScimClient):
    user_id = scim.post("/Users", _entra_user("grace@example.com", "oid")).json()["id"]
    events = AuditEvent.objects.count()

    response = scim.patch(
        f"/Users/{user_id}",
        patch_op({"op": "Replace", "path": "displayName", "value": "Grace Hopper"}),
    )

    assert response.status_code == 200
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("operations", "status", "scim_type"),
    [
        ([{"op": "explode", "path": "displayName", "value": "x"}], 400, "invalidSyntax"),
        ([{"op": "replace", "path": "active", "value": "perhaps"}], 400, "invalidValue"),
        ([{"op": "replace", "path": "nonsense", "value": "x"}], 400, "invalidPath"),
        ([{"op": "replace", "path": "displayName[", "value": "x"}], 400, "invalidPath"),
        ([{"op": "replace", "path": "id", "value": "7"}], 400, "mutability"),
        ([{"op": "remove"}], 400, "noTarget"),
        ([{"op": "remove", "path": "userName"}], 400, "invalidValue"),
        ([{"op": "replace", "path": "urn:other:thing:x", "value": "x"}], 400, "invalidPath"),
        ([{"op": "replace", "value": "not an object"}], 400, "invalidValue"),
        ([{"op": "replace", "path": "displayName"}], 400, "invalidValue"),
        (
            [
                {"op": "replace", "path": "displayName", "value": "First applied"},
                {"op": "replace", "path": "active", "value": 3},
            ],
            400,
            "invalidValue",
        ),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(scim, operations, status, scim_type):
    user_id = scim.post("/Users", _entra_user("grace@example.com", "oid")).json()["id"]
    events = AuditEvent.objects.count()

    response = scim.patch(f"/Users/{user_id}", patch_op(*operations))

    assert response.status_code == status, response.content
    assert response.json()["scimType"] == scim_type
    user = User.objects.get(pk=user_id)
    assert (user.display_name, user.is_active) == ("Grace Hopper", True)
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "body",
    [
        {"Operations": [{"op": "replace", "path": "active", "value": False}]},
        {"schemas": [USER], "Operations": [{"op": "replace", "path": "active", "value": False}]},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ["x"]},
    ],
)
def test_a_patch_without_its_schema_or_operations_is_invalid_syntax(scim, body):
    user_id = scim.post("/Users", _entra_user("grace@example.com", "oid")).json()["id"]

    response = scim.patch(f"/Users/{user_id}", body)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"
    assert User.objects.get(pk=user_id).is_active


def test_patch_with_a_stale_if_match_is_a_412(scim: ScimClient):
    created = scim.post("/Users", _entra_user("grace@example.com", "oid")).json()
    scim.patch(
        f"/Users/{created['id']}", patch_op({"op": "replace", "path": "title", "value": "x"})
    )
    scim.patch(
        f"/Users/{created['id']}",
        patch_op({"op": "replace", "path": "displayName", "value": "Changed"}),
    )

    response = scim.patch(
        f"/Users/{created['id']}",
        patch_op({"op": "replace", "path": "active", "value": False}),
        if_match=created["meta"]["version"],
    )

    assert response.status_code == 412
    assert User.objects.get(pk=created["id"]).is_active


def test_path_less_objects_with_dotted_and_extension_keys(scim: ScimClient):
    user_id = scim.post("/Users", _entra_user("grace@example.com", "oid")).json()["id"]

    response = scim.patch(
        f"/Users/{user_id}",
        patch_op(
            {
                "op": "Replace",
                "value": {
                    "name.givenName": "G.",
                    f"{ENTERPRISE}:employeeNumber": "E-7",
                    ENTERPRISE: {"department": "Legal"},
                    "active": "False",
                },
            }
        ),
    )

    body = response.json()
    assert response.status_code == 200, body
    assert body["name"]["givenName"] == "G."
    assert body[ENTERPRISE]["employeeNumber"] == "E-7"
    assert body[ENTERPRISE]["department"] == "Legal"
    assert body["active"] is False
    changed = AuditEvent.objects.get(event_type="scim.user_updated")
    assert changed.details["changes"] == {"department": "Legal", "employee_number": "E-7"}


def test_a_deleted_person_is_reactivated_by_a_later_patch(scim: ScimClient):
    user_id = scim.post("/Users", _entra_user("grace@example.com", "oid")).json()["id"]
    scim.delete(f"/Users/{user_id}")

    response = scim.patch(
        f"/Users/{user_id}", patch_op({"op": "replace", "path": "active", "value": True})
    )

    assert response.json()["active"] is True
    assert User.objects.get(pk=user_id).is_active


def test_a_concurrent_twin_that_wins_the_race_is_a_409(scim: ScimClient, monkeypatch):
    from accounts.scim.services import users

    scim.post("/Users", _entra_user("grace@example.com", "oid"))
    # As if the other request committed between this one's check and its insert.
    monkeypatch.setattr(users, "scim_username_taken", lambda **kwargs: False)

    response = scim.post("/Users", _entra_user("grace@example.com", "oid-2"))

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert User.objects.filter(username="grace@example.com").count() == 1


@pytest.mark.parametrize(
    ("second_user_name", "second_external_id"),
    [("grace@example.com", "00u-other"), ("other@example.com", "00u-grace")],
    ids=["userName", "identity"],
)
def test_a_concurrent_twin_under_a_bound_token_is_a_409_and_nothing_is_kept(
    okta: ScimClient, monkeypatch, second_user_name: str, second_external_id: str
):
    """The creation's services run without savepoints: the twin's IntegrityError (the user's
    or the identity's row) must still end in a 409 with the whole request rolled back."""
    from accounts.scim.services import users

    okta.post("/Users", _okta_user("grace@example.com", "00u-grace"))
    people, events = User.objects.count(), AuditEvent.objects.count()
    entries = LogEntry.objects.count()
    # As if the other request committed between this one's check and its inserts.
    monkeypatch.setattr(users, "scim_creation_clashes", lambda **kwargs: (False, None))

    response = okta.post("/Users", _okta_user(second_user_name, second_external_id))

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert User.objects.count() == people
    assert AuditEvent.objects.count() == events
    assert LogEntry.objects.count() == entries
    assert ExternalIdentity.objects.count() == 1
    assert okta.get("/Users").json()["totalResults"] == 1


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "displayName", "value": "x" * 151},
        {"op": "replace", "path": "userName", "value": "x" * 151},
        {"op": "add", "path": "externalId", "value": "x" * 256},
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "x" * 256},
        {"op": "replace", "path": "displayName", "value": {"nested": "object"}},
    ],
)
def test_a_patch_value_too_long_or_of_the_wrong_type_is_a_400(scim, operation):
    user_id = scim.post("/Users", _entra_user("grace@example.com", "oid")).json()["id"]

    response = scim.patch(f"/Users/{user_id}", patch_op(operation))

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert User.objects.get(pk=user_id).display_name == "Grace Hopper"
