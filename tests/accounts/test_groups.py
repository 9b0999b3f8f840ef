"""Groups and identities: one write path, administrators only (or provisioning with actor None),
every change audited, and an identity never moves to another person."""

import pytest
from django.db import transaction

from accounts.errors import RoleError
from accounts.models import ExternalIdentity, Group, GroupMembership, IdentityProviderKind, Role
from accounts.selectors import group_member_ids, user_by_identity, user_group_ids
from accounts.services import groups as group_services
from accounts.services.groups import (
    group_create,
    group_delete,
    group_members_add,
    group_members_remove,
    group_members_set,
)
from accounts.services.identities import (
    identity_link,
    identity_provider_create,
    identity_provider_update,
)
from audit.models import AuditEvent, AuditEventType
from tests.factories import UserFactory


@pytest.fixture
def admin():
    return UserFactory(username="groupadmin", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def provider(admin):
    return identity_provider_create(
        actor=admin,
        slug="corp",
        kind=IdentityProviderKind.OIDC,
        name="Corp",
        issuer="https://idp.example",
        config={"client_secret": "s3cret"},
    )


def events(event_type: AuditEventType) -> list[dict]:
    return list(AuditEvent.objects.filter(event_type=event_type).values_list("details", flat=True))


@pytest.mark.django_db
def test_an_administrator_makes_a_group_and_sets_its_members_audited_each_way(admin):
    alice, bob, carol = UserFactory.create_batch(3)
    group = group_create(actor=admin, display_name="Research")

    group_members_add(actor=admin, group=group, user_ids=[alice.pk, bob.pk])
    added, removed = group_members_set(actor=admin, group=group, user_ids=[bob.pk, carol.pk])

    assert (added, removed) == ({carol.pk}, {alice.pk})
    assert group_member_ids(group_id=group.pk) == {bob.pk, carol.pk}
    assert user_group_ids(user_id=bob.pk) == {group.pk}
    assert [e["user_ids"] for e in events(AuditEventType.GROUP_MEMBERS_ADDED)] == [
        sorted([alice.pk, bob.pk]),
        [carol.pk],
    ]
    assert [e["user_ids"] for e in events(AuditEventType.GROUP_MEMBERS_REMOVED)] == [[alice.pk]]


@pytest.mark.django_db
def test_adding_people_already_in_the_group_changes_and_records_nothing(admin):
    alice = UserFactory()
    group = group_create(actor=admin, display_name="Sales")
    group_members_add(actor=admin, group=group, user_ids=[alice.pk])

    assert group_members_add(actor=admin, group=group, user_ids=[alice.pk]) == frozenset()
    assert group_members_remove(actor=admin, group=group, user_ids=[12345]) == frozenset()
    assert len(events(AuditEventType.GROUP_MEMBERS_ADDED)) == 1
    assert events(AuditEventType.GROUP_MEMBERS_REMOVED) == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.COMPLIANCE_OFFICER, Role.AUDITOR])
def test_nobody_but_an_administrator_manages_groups_and_nothing_changes(admin, role):
    someone = UserFactory(roles=[role])
    group = group_create(actor=admin, display_name="Trading")
    before = AuditEvent.objects.count()

    with pytest.raises(RoleError):
        group_create(actor=someone, display_name="Mine")
    with pytest.raises(RoleError):
        group_members_add(actor=someone, group=group, user_ids=[someone.pk])
    with pytest.raises(RoleError):
        group_delete(actor=someone, group=group)

    assert list(Group.objects.values_list("display_name", flat=True)) == ["Trading"]
    assert not GroupMembership.objects.exists()
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_membership_hooks_run_after_commit_with_who_came_and_went(admin, monkeypatch):
    seen: list[tuple[int, frozenset[int], frozenset[int]]] = []
    monkeypatch.setattr(group_services, "_members_hooks", [lambda *args: seen.append(args)])
    alice = UserFactory()
    group = group_create(actor=admin, display_name="Advisory")
    group_id = group.pk

    with transaction.atomic():
        group_members_add(actor=admin, group=group, user_ids=[alice.pk])
        assert seen == []
    group_delete(actor=admin, group=group)

    assert seen == [(group_id, {alice.pk}, frozenset()), (group_id, frozenset(), {alice.pk})]


@pytest.mark.django_db
def test_an_identity_is_issuer_and_subject_and_never_moves_to_another_person(provider):
    alice, mallory = UserFactory.create_batch(2)
    identity_link(provider=provider, user=alice, subject="00u1", via="oidc")
    identity_link(provider=provider, user=alice, subject="00u1", via="oidc")

    with pytest.raises(ValueError, match="another person"):
        identity_link(provider=provider, user=mallory, subject="00u1", via="oidc")

    assert user_by_identity(issuer="https://idp.example", subject="00u1") == alice
    assert ExternalIdentity.objects.count() == 1
    assert len(events(AuditEventType.IDENTITY_LINKED)) == 1


@pytest.mark.django_db
def test_a_provider_change_is_audited_without_its_secret(admin, provider):
    identity_provider_update(actor=admin, provider=provider, config={"client_secret": "n3w"})
    identity_provider_update(actor=admin, provider=provider, enabled=True)

    (changed,) = events(AuditEventType.IDENTITY_PROVIDER_UPDATED)
    assert changed["changed"] == ["config"]
    assert "n3w" not in str(AuditEvent.objects.values_list("details", flat=True))
    with pytest.raises(ValueError, match="not a provider setting"):
        identity_provider_update(actor=admin, provider=provider, slug="other")


@pytest.mark.django_db
def test_the_mention_check_s_group_lookup_gives_the_same_answer_without_postgresql(admin):
    from accounts.selectors import (
        _group_ids_of_user_and_usernames_orm,
        group_ids_of_user_and_usernames,
    )

    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    research = group_create(actor=admin, display_name="Research")
    trading = group_create(actor=admin, display_name="Trading")
    other = group_create(actor=admin, display_name="Other")
    group_members_add(actor=admin, group=research, user_ids=[alice.pk, carol.pk])
    group_members_add(actor=admin, group=trading, user_ids=[bob.pk])
    group_members_add(actor=admin, group=other, user_ids=[bob.pk, carol.pk])
    asked = {"user_id": alice.pk, "usernames": ["bob", "carol", "nobody"]}
    among = [research.pk, trading.pk]

    in_sql = group_ids_of_user_and_usernames(**asked, among_group_ids=among)
    in_orm = _group_ids_of_user_and_usernames_orm(asked["user_id"], asked["usernames"], among)

    assert (
        in_sql
        == in_orm
        == {
            alice.pk: {research.pk},
            bob.pk: {trading.pk},
            carol.pk: {research.pk},
        }
    )
