"""SCIM groups feed the provider's GroupRoleRules, and leaving the last group that maps a role
takes the mapped role away (never a role granted by hand). Through SCIM HTTP, as an IdP."""

import pytest

from accounts.errors import RoleError, RoleErrorCode
from accounts.models import (
    Group,
    GroupMembership,
    GroupRoleRule,
    GroupSource,
    IdentityProvider,
    Role,
    RoleGrant,
    RoleRequest,
    RoleRequestStatus,
    User,
)
from accounts.selectors import user_roles
from accounts.services import access
from accounts.services.groups import group_create, group_members_add
from accounts.services.identities import group_role_rule_add, group_role_rule_remove
from accounts.services.role_mapping import role_mappings_reconcile
from accounts.services.roles import role_request_approve
from audit.models import AuditEvent, AuditEventType
from tests.factories import UserFactory, role_state

from .conftest import GROUP, ScimClient, patch_op, user_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(okta_provider: IdentityProvider) -> None:
    for value, role in (("Traders", Role.EMPLOYEE), ("Desk", Role.EMPLOYEE)):
        group_role_rule_add(actor=None, provider=okta_provider, group_value=value, role=role)  # type: ignore[arg-type]
    group_role_rule_add(actor=None, provider=okta_provider, group_value="Audit", role=Role.AUDITOR)  # type: ignore[arg-type]


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run the after-commit work (role mapping, closing sockets) of each request."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def _person(okta: ScimClient, name: str = "tom@bank.example") -> User:
    return User.objects.get(pk=okta.post("/Users", user_body(name)).json()["id"])


def _group(okta: ScimClient, committing, name: str, *members: User) -> str:
    body = {
        "schemas": [GROUP],
        "displayName": name,
        "members": [{"value": str(m.pk)} for m in members],
    }
    response = committing(okta.post, "/Groups", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _remove(okta: ScimClient, committing, group_id: str, user: User) -> None:
    op = {"op": "remove", "path": f'members[value eq "{user.pk}"]'}
    assert committing(okta.patch, f"/Groups/{group_id}", patch_op(op)).status_code == 204


def _events(event_type: AuditEventType, user: User) -> list[dict]:
    return [
        e.details
        for e in AuditEvent.objects.filter(event_type=event_type).order_by("seq")
        if e.details.get("user_id") == user.pk
    ]


def test_a_scim_group_grants_employee_at_once_and_only_asks_for_auditor(okta, rules, committing):
    tom = _person(okta)

    _group(okta, committing, "Traders", tom)
    _group(okta, committing, "Audit", tom)

    assert user_roles(user=tom) == {Role.EMPLOYEE}
    request = RoleRequest.objects.get(user=tom, role=Role.AUDITOR)
    assert request.status == RoleRequestStatus.PENDING
    assert request.requested_by is None
    assert request.mapped_from == "okta:Audit"
    assert not RoleGrant.objects.filter(user=tom, role=Role.AUDITOR).exists()


def test_leaving_the_group_revokes_the_mapped_role_and_withdraws_the_pending_one(
    okta, rules, committing
):
    tom = _person(okta)
    traders = _group(okta, committing, "Traders", tom)
    audit = _group(okta, committing, "Audit", tom)
    closed: list[tuple[int, access.AccessChange]] = []
    access.access_hook(hook := lambda user_id, change: closed.append((user_id, change)))

    try:
        _remove(okta, committing, traders, tom)
        _remove(okta, committing, audit, tom)
    finally:
        access._hooks.remove(hook)

    assert user_roles(user=tom) == set()
    assert (
        RoleRequest.objects.get(user=tom, role=Role.AUDITOR).status == RoleRequestStatus.WITHDRAWN
    )
    revoked = _events(AuditEventType.ROLE_REVOKED, tom)
    assert [(e["role"], e["via"], e["mapped_from"]) for e in revoked] == [
        ("employee", "group_mapping", "okta:Traders")
    ]
    assert [e["role"] for e in _events(AuditEventType.ROLE_REQUEST_WITHDRAWN, tom)] == ["auditor"]
    # Sockets and sessions hear of it as of any revocation.
    assert (tom.pk, access.AccessChange.ROLE_REVOKED) in closed


def test_the_role_stays_while_another_group_still_maps_it(okta, rules, committing):
    tom = _person(okta)
    traders = _group(okta, committing, "Traders", tom)
    desk = _group(okta, committing, "Desk", tom)

    _remove(okta, committing, traders, tom)
    assert user_roles(user=tom) == {Role.EMPLOYEE}

    assert committing(okta.delete, f"/Groups/{desk}").status_code == 204
    assert user_roles(user=tom) == set()


def test_a_put_that_leaves_someone_out_revokes_their_mapped_role(okta, rules, committing):
    tom, ann = _person(okta), _person(okta, "ann@bank.example")
    traders = _group(okta, committing, "Traders", tom, ann)

    body = {"schemas": [GROUP], "displayName": "Traders", "members": [{"value": str(ann.pk)}]}
    assert committing(okta.put, f"/Groups/{traders}", body).status_code == 200

    assert user_roles(user=tom) == set()
    assert user_roles(user=ann) == {Role.EMPLOYEE}


def test_a_role_granted_by_hand_is_never_revoked_by_leaving_a_group(okta, rules, committing):
    tom = _person(okta)
    traders = _group(okta, committing, "Traders", tom)
    # Tom's employee role came from the group; Ann's was granted by hand before she joined.
    ann = _person(okta, "ann@bank.example")
    RoleGrant.objects.create(user=ann, role=Role.EMPLOYEE)
    assert (
        committing(
            okta.patch,
            f"/Groups/{traders}",
            patch_op({"op": "add", "path": "members", "value": [{"value": str(ann.pk)}]}),
        ).status_code
        == 204
    )

    _remove(okta, committing, traders, ann)

    assert user_roles(user=ann) == {Role.EMPLOYEE}
    assert _events(AuditEventType.ROLE_REVOKED, ann) == []


def test_deactivation_takes_mapped_roles_away_and_reactivation_asks_again(okta, rules, committing):
    tom = _person(okta)
    _group(okta, committing, "Traders", tom)
    _group(okta, committing, "Audit", tom)

    off = patch_op({"op": "replace", "value": {"active": False}})
    assert committing(okta.patch, f"/Users/{tom.pk}", off).status_code == 200
    assert user_roles(user=tom) == set()
    assert not RoleRequest.objects.filter(user=tom, status=RoleRequestStatus.PENDING).exists()

    on = patch_op({"op": "replace", "value": {"active": True}})
    assert committing(okta.patch, f"/Users/{tom.pk}", on).status_code == 200
    # Employee again at once; the auditor role waits for an administrator again.
    assert user_roles(user=tom) == {Role.EMPLOYEE}
    assert RoleRequest.objects.filter(
        user=tom, role=Role.AUDITOR, status=RoleRequestStatus.PENDING
    ).exists()


def test_an_idp_group_never_grants_auditor_without_an_administrators_approval(
    okta, rules, committing
):
    """The insider at the IdP puts themselves in the group that maps auditor: a request, which
    one eim administrator (not them) must approve; nothing is granted until then."""
    tom = _person(okta)
    _group(okta, committing, "Audit", tom)
    _group(okta, committing, "Traders", tom)  # more syncs change nothing

    assert Role.AUDITOR not in user_roles(user=tom)
    assert RoleRequest.objects.filter(user=tom, role=Role.AUDITOR).count() == 1
    admin = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    request = RoleRequest.objects.get(user=tom, role=Role.AUDITOR)
    role_request_approve(actor=admin, request_id=request.pk)
    assert Role.AUDITOR in user_roles(user=tom)


def test_an_approval_after_the_membership_went_is_refused(okta, rules, committing):
    """The hook that would have withdrawn the request was lost: the approval checks the group
    itself, and changes nothing."""
    tom = _person(okta)
    audit = _group(okta, committing, "Audit", tom)
    GroupMembership.objects.filter(group_id=audit, user=tom).delete()  # behind the service
    admin = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    request = RoleRequest.objects.get(user=tom, role=Role.AUDITOR)
    before = role_state()

    with pytest.raises(RoleError) as refused:
        role_request_approve(actor=admin, request_id=request.pk)

    assert refused.value.code == RoleErrorCode.MAPPING_GONE
    assert role_state() == before
    assert Role.AUDITOR not in user_roles(user=tom)


def test_the_sweeper_revokes_what_a_lost_hook_left(okta, rules, committing):
    tom = _person(okta)
    traders = _group(okta, committing, "Traders", tom)
    audit = _group(okta, committing, "Audit", tom)
    GroupMembership.objects.filter(group_id__in=[traders, audit], user=tom).delete()

    assert role_mappings_reconcile() == 1

    assert user_roles(user=tom) == set()
    assert (
        RoleRequest.objects.get(user=tom, role=Role.AUDITOR).status == RoleRequestStatus.WITHDRAWN
    )
    # A second run finds nothing to do.
    events = AuditEvent.objects.count()
    role_mappings_reconcile()
    assert AuditEvent.objects.count() == events


def test_an_unmapped_group_of_10000_costs_no_role_work(okta, okta_provider, rules, committing):
    tom = _person(okta)
    group = group_create(
        actor=None, display_name="Canteen", source=GroupSource.SCIM, provider=okta_provider
    )

    committing(group_members_add, actor=None, group=group, user_ids=[tom.pk], via="test")

    assert user_roles(user=tom) == set()
    assert not RoleRequest.objects.filter(user=tom).exists()


def test_entra_one_group_one_row_scim_takes_over_the_claim_group(okta, okta_provider, committing):
    """Entra ID sends a group's object id in the groups claim and as SCIM externalId: the
    claim made the group first; SCIM's POST takes that row over instead of a 409 or a twin."""
    tom, ann = _person(okta), _person(okta, "ann@bank.example")
    claimed = group_create(
        actor=None,
        display_name="6f1c-oid",
        source=GroupSource.SSO,
        provider=okta_provider,
        external_id="6f1c-oid",
    )
    group_role_rule_add(
        actor=None, provider=okta_provider, group_value="6f1c-oid", role=Role.EMPLOYEE
    )  # type: ignore[arg-type]
    committing(group_members_add, actor=None, group=claimed, user_ids=[tom.pk, ann.pk], via="sso")
    assert user_roles(user=tom) == {Role.EMPLOYEE}

    body = {
        "schemas": [GROUP],
        "displayName": "Traders",
        "externalId": "6f1c-oid",
        "members": [{"value": str(ann.pk)}],
    }
    response = committing(okta.post, "/Groups", body)

    assert response.status_code == 201, response.content
    assert response.json()["id"] == str(claimed.pk)
    group = Group.objects.get(provider=okta_provider, external_id="6f1c-oid")
    assert (group.pk, group.source, group.display_name) == (claimed.pk, GroupSource.SCIM, "Traders")
    assert set(group.members.values_list("pk", flat=True)) == {ann.pk}
    assert user_roles(user=ann) == {Role.EMPLOYEE}
    assert user_roles(user=tom) == set()


def _rename(okta: ScimClient, committing, group_id: str, name: str) -> int:
    op = {"op": "replace", "path": "displayName", "value": name}
    return committing(okta.patch, f"/Groups/{group_id}", patch_op(op)).status_code


def test_renaming_a_group_to_a_mapped_name_grants_the_role_at_once(okta, rules, committing):
    tom = _person(okta)
    sales = _group(okta, committing, "Sales", tom)
    assert user_roles(user=tom) == set()

    assert _rename(okta, committing, sales, "Traders") == 204

    assert user_roles(user=tom) == {Role.EMPLOYEE}


def test_renaming_a_group_away_from_its_mapped_name_revokes_the_role_at_once(
    okta, rules, committing
):
    tom = _person(okta)
    traders = _group(okta, committing, "Traders", tom)

    assert _rename(okta, committing, traders, "Former traders") == 204

    assert user_roles(user=tom) == set()
    revoked = _events(AuditEventType.ROLE_REVOKED, tom)
    assert [(e["role"], e["mapped_from"]) for e in revoked] == [("employee", "okta:Traders")]


def test_a_refused_rename_changes_no_role(okta, rules, committing):
    tom = _person(okta)
    _group(okta, committing, "Desk", _person(okta, "dora@bank.example"))
    sales = _group(okta, committing, "Sales", tom)

    assert _rename(okta, committing, sales, "Desk") == 409  # the name is taken

    assert user_roles(user=tom) == set()
    assert Group.objects.get(pk=sales).display_name == "Sales"


def test_a_rule_added_reaches_the_groups_members_at_once(okta, okta_provider, committing):
    tom = _person(okta)
    _group(okta, committing, "Sales", tom)

    committing(
        group_role_rule_add,
        actor=None,
        provider=okta_provider,
        group_value="Sales",
        role=Role.EMPLOYEE,
    )

    assert user_roles(user=tom) == {Role.EMPLOYEE}
    assert RoleGrant.objects.get(user=tom).request.mapped_from == "okta:Sales"


def test_a_rule_removed_takes_its_role_away_at_once(okta, okta_provider, rules, committing):
    tom = _person(okta)
    _group(okta, committing, "Traders", tom)
    assert user_roles(user=tom) == {Role.EMPLOYEE}

    rule = GroupRoleRule.objects.get(provider=okta_provider, group_value="Traders")
    committing(group_role_rule_remove, actor=None, rule=rule)

    assert user_roles(user=tom) == set()
    assert [e["mapped_from"] for e in _events(AuditEventType.ROLE_REVOKED, tom)] == ["okta:Traders"]
