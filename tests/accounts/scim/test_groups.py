"""/Groups: create, get, replace, PATCH of members (10,000 at once), delete."""

import time

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import Group, GroupMembership, GroupSource, User
from accounts.scim.models import ScimUserProfile
from audit.models import AuditEvent

from .conftest import GROUP, ScimClient, patch_op, user_body

pytestmark = pytest.mark.django_db


def _people(scim: ScimClient, count: int) -> list[str]:
    return [
        scim.post("/Users", user_body(f"member{n}@example.com")).json()["id"] for n in range(count)
    ]


def _group(scim: ScimClient, name: str = "Traders", members: list[str] = ()) -> dict:
    response = scim.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]},
    )
    assert response.status_code == 201, response.content
    return response.json()


def _member_ids(group_id: str) -> set[str]:
    return {
        str(u)
        for u in GroupMembership.objects.filter(group_id=group_id).values_list("user_id", flat=True)
    }


def test_create_with_members_and_get(scim: ScimClient):
    ids = _people(scim, 2)

    created = _group(scim, members=ids)
    fetched = scim.get(f"/Groups/{created['id']}")

    group = Group.objects.get(pk=created["id"])
    assert (group.source, group.provider) == (GroupSource.SCIM, None)
    assert _member_ids(created["id"]) == set(ids)
    assert fetched.json() == created
    assert fetched["ETag"] == created["meta"]["version"]
    assert [m["value"] for m in created["members"]] == ids
    assert created["members"][0]["display"] == "member0@example.com"
    assert "meta" in scim.get(f"/Groups/{created['id']}?excludedAttributes=members").json()


def test_put_replaces_the_members(scim: ScimClient):
    a, b, c = _people(scim, 3)
    group = _group(scim, members=[a, b])

    response = scim.put(
        f"/Groups/{group['id']}",
        {"schemas": [GROUP], "displayName": "Renamed", "members": [{"value": b}, {"value": c}]},
    )

    assert response.status_code == 200
    assert response.json()["displayName"] == "Renamed"
    assert _member_ids(group["id"]) == {b, c}


def test_patch_replace_members_then_add_and_remove_in_one_request(scim: ScimClient):
    a, b, c, d = _people(scim, 4)
    group = _group(scim, members=[a])

    response = scim.patch(
        f"/Groups/{group['id']}",
        patch_op(
            {"op": "replace", "path": "members", "value": [{"value": b}, {"value": c}]},
            {"op": "add", "path": "members", "value": [{"value": d}]},
            {"op": "remove", "path": f'members[value eq "{c}"]'},
        ),
    )

    assert response.status_code == 204
    assert _member_ids(group["id"]) == {b, d}


def test_patch_remove_all_members(scim: ScimClient):
    group = _group(scim, members=_people(scim, 2))

    scim.patch(f"/Groups/{group['id']}", patch_op({"op": "remove", "path": "members"}))

    assert _member_ids(group["id"]) == set()


def test_adding_someone_already_there_or_removing_someone_absent_is_no_error(scim):
    a, b = _people(scim, 2)
    group = _group(scim, members=[a])
    events = AuditEvent.objects.count()

    added = scim.patch(
        f"/Groups/{group['id']}",
        patch_op({"op": "add", "path": "members", "value": [{"value": a}]}),
    )
    removed = scim.patch(
        f"/Groups/{group['id']}", patch_op({"op": "remove", "path": f'members[value eq "{b}"]'})
    )

    assert added.status_code == removed.status_code == 204
    assert _member_ids(group["id"]) == {a}
    assert AuditEvent.objects.count() == events


def test_members_who_were_not_provisioned_here_are_refused_and_nothing_changes(scim, alice):
    (a,) = _people(scim, 1)
    group = _group(scim, members=[a])
    events = AuditEvent.objects.count()

    response = scim.patch(
        f"/Groups/{group['id']}",
        patch_op(
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "add", "path": "members", "value": [{"value": str(alice.pk)}]},
        ),
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert _member_ids(group["id"]) == {a}
    assert Group.objects.get(pk=group["id"]).display_name == "Traders"
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "members", "value": [{"value": "not-a-number"}]},
        {"op": "add", "path": "members", "value": "x"},
        {"op": "add", "path": 'members[value eq "1"]', "value": [{"value": "1"}]},
        {"op": "remove", "path": 'members[display eq "x"]'},
        {"op": "remove", "path": "displayName"},
        {"op": "replace", "path": "owner", "value": "x"},
    ],
)
def test_bad_group_patches_are_400s(scim, operation):
    group = _group(scim)

    response = scim.patch(f"/Groups/{group['id']}", patch_op(operation))

    assert response.status_code == 400
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert Group.objects.get(pk=group["id"]).display_name == "Traders"


def test_a_duplicate_group_name_is_a_409(scim: ScimClient):
    _group(scim, "Traders")

    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "traders"})

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert Group.objects.count() == 1


def test_a_group_without_display_name_is_a_400(scim: ScimClient):
    response = scim.post("/Groups", {"schemas": [GROUP]})

    assert response.status_code == 400
    assert not Group.objects.exists()


def test_a_stale_if_match_on_a_group_is_a_412(scim: ScimClient):
    a, b = _people(scim, 2)
    group = _group(scim, members=[a])
    scim.patch(
        f"/Groups/{group['id']}",
        patch_op({"op": "add", "path": "members", "value": [{"value": b}]}),
    )

    response = scim.patch(
        f"/Groups/{group['id']}",
        patch_op({"op": "remove", "path": "members"}),
        if_match=group["meta"]["version"],
    )

    assert response.status_code == 412
    assert _member_ids(group["id"]) == {a, b}


def test_delete_removes_the_group_not_its_members(scim: ScimClient):
    ids = _people(scim, 2)
    group = _group(scim, members=ids)

    response = scim.delete(f"/Groups/{group['id']}")

    assert response.status_code == 204
    assert not Group.objects.filter(pk=group["id"]).exists()
    assert User.objects.filter(pk__in=ids, is_active=True).count() == 2
    assert scim.get(f"/Groups/{group['id']}").status_code == 404
    assert AuditEvent.objects.get(event_type="group.deleted").details["via"] == "scim:unbound"


def test_another_tokens_groups_are_invisible(scim, okta):
    group = _group(okta, "Okta group")

    assert scim.get("/Groups").json()["totalResults"] == 0
    assert scim.delete(f"/Groups/{group['id']}").status_code == 404
    assert Group.objects.filter(pk=group["id"]).exists()


def _provisioned_in_bulk(count: int) -> list[int]:
    """Test data: people as SCIM would have provisioned them, written in bulk (creating
    10,000 through the endpoint is what bench/scim.py measures)."""
    password = make_password(None)
    users = User.objects.bulk_create(
        User(username=f"bulk{n}@example.com", password=password) for n in range(count)
    )
    now = timezone.now()
    ScimUserProfile.objects.bulk_create(
        ScimUserProfile(user=user, last_modified=now) for user in users
    )
    return [user.pk for user in users]


@pytest.mark.slow
def test_a_patch_adding_ten_thousand_members_takes_under_five_seconds(scim: ScimClient):
    ids = _provisioned_in_bulk(10_000)
    group = _group(scim, "Everyone")
    body = patch_op({"op": "add", "path": "members", "value": [{"value": str(i)} for i in ids]})

    started = time.monotonic()
    response = scim.patch(f"/Groups/{group['id']}", body)
    elapsed = time.monotonic() - started

    print(f"10,000-member PATCH: {elapsed:.2f} s")
    assert response.status_code == 204
    assert GroupMembership.objects.filter(group_id=group["id"]).count() == 10_000
    assert elapsed < 5.0
    removed = patch_op(
        {"op": "remove", "path": "members", "value": [{"value": str(i)} for i in ids[:5000]]}
    )
    started = time.monotonic()
    assert scim.patch(f"/Groups/{group['id']}", removed).status_code == 204
    assert time.monotonic() - started < 5.0
    assert GroupMembership.objects.filter(group_id=group["id"]).count() == 5000


@pytest.mark.parametrize("path", ["displayName", "externalId"])
def test_a_group_value_too_long_is_a_400(scim, path):
    group = _group(scim)

    response = scim.patch(
        f"/Groups/{group['id']}", patch_op({"op": "replace", "path": path, "value": "x" * 256})
    )

    assert response.status_code == 400
    assert Group.objects.get(pk=group["id"]).display_name == "Traders"
