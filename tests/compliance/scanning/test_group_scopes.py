"""Policy scopes by group name eim's own groups (accounts.Group) by id, and follow membership
changes made in the console or by SCIM, at send time and in the scanning stage; the data
migration maps scopes that named Django auth groups."""

import pytest
from django.contrib.auth.models import Group as AuthGroup
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Group, GroupMembership, Role
from accounts.services.groups import group_create, group_members_add, group_members_set
from archive.services.archiving import archive_pending
from compliance.models import Flag, PolicyVersion
from compliance.scanning.stage import scan_pending
from eim.chat.errors import ChatError
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, send

from .conftest import make_policy


def desk(*people):  # type: ignore[no-untyped-def]
    admin = UserFactory(roles=[Role.ADMINISTRATOR])
    group = group_create(actor=admin, display_name="FX desk")
    group_members_add(actor=admin, group=group, user_ids=[p.pk for p in people])
    return admin, group


def test_a_block_scoped_to_a_group_follows_console_membership_changes(alice, bob, officer):
    admin, group = desk(alice)
    make_policy(officer, terms=["guarantee"], actions=["block"], scope={"groups": [group.pk]})
    channel = ChannelFactory(creator=alice, members=[bob])

    with pytest.raises(ChatError):
        send(alice, channel, "I guarantee it")
    send(bob, channel, "I guarantee it")  # bob is not in the group
    group_members_add(actor=admin, group=group, user_ids=[bob.pk])
    with pytest.raises(ChatError):
        send(bob, channel, "I guarantee it again")
    group_members_set(actor=None, group=group, user_ids=[bob.pk], via="scim")  # alice leaves
    send(alice, channel, "I guarantee it now")


def test_the_stage_reads_group_membership_at_scan_time(alice, bob, officer):
    _, group = desk(alice)
    make_policy(officer, terms=["guarantee"], scope={"groups": [group.pk]})
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel, "alice: I guarantee it")
    send(bob, channel, "bob: I guarantee it")
    archive_pending()
    scan_pending()
    group_members_set(actor=None, group=group, user_ids=[bob.pk], via="scim")
    send(alice, channel, "alice later: I guarantee it")
    send(bob, channel, "bob later: I guarantee it")
    archive_pending()
    scan_pending()

    assert list(Flag.objects.order_by("archive_seq").values_list("author_id", flat=True)) == [
        alice.pk,
        bob.pk,
    ]


def test_an_officer_in_the_scoped_group_may_not_change_the_policy(alice, officer):
    _, group = desk(alice)
    other = UserFactory(roles=[Role.COMPLIANCE_OFFICER])
    version = make_policy(other, terms=["guarantee"], scope={"groups": [group.pk]})
    group_members_add(actor=None, group=group, user_ids=[officer.pk], via="scim")

    response = api_as(officer).put(
        f"/api/v1/compliance/policies/{version.policy_id}",
        {"conditions": version.conditions, "actions": ["flag"], "scope": {}},
        format="json",
    )

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert PolicyVersion.objects.count() == 1


def test_a_scope_naming_no_group_or_a_name_is_refused(officer):
    conditions = {"lexicons": [{"name": "l", "terms": ["x"]}]}
    responses = [
        api_as(officer).post(
            "/api/v1/compliance/policies",
            {"name": "P", "conditions": conditions, "actions": ["flag"], "scope": scope},
            format="json",
        )
        for scope in ({"groups": [12345]}, {"groups": ["FX desk"]})
    ]

    assert [r.status_code for r in responses] == [400, 400]
    assert PolicyVersion.objects.count() == 0


def test_officers_list_the_groups_and_no_one_else(alice, officer):
    desk(alice)

    listed = api_as(officer).get("/api/v1/compliance/policies/groups")
    refused = api_as(alice).get("/api/v1/compliance/policies/groups")

    assert [(g["name"], g["members"]) for g in listed.json()["groups"]] == [("FX desk", 1)]
    assert refused.status_code == 403


BEFORE = [("compliance", "0008_policy_notify")]


def _migrate(targets):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_the_migration_maps_auth_group_names_to_eim_groups():
    alice, bob, officer = UserFactory(), UserFactory(), UserFactory()
    existing = Group.objects.create(display_name="Traders", source="local")
    GroupMembership.objects.create(group=existing, user=alice)
    only_auth = AuthGroup.objects.create(name="Research")
    bob.groups.add(only_auth)
    old_apps = _migrate(BEFORE).loader.project_state(BEFORE).apps
    old_policy = old_apps.get_model("compliance", "Policy")
    old_version = old_apps.get_model("compliance", "PolicyVersion")
    policy = old_policy.objects.create(name="Scoped", created_by_id=officer.pk)
    version = old_version.objects.create(
        policy=policy,
        number=1,
        conditions={"lexicons": [{"name": "l", "terms": ["x"]}]},
        scope={"groups": ["Traders", "Research"], "kinds": ["public"]},
        actions=["flag"],
        created_by_id=officer.pk,
    )

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    research = Group.objects.get(display_name="Research")
    scope = PolicyVersion.objects.get(pk=version.pk).scope
    assert scope == {"groups": sorted([existing.pk, research.pk]), "kinds": ["public"]}
    assert list(research.memberships.values_list("user_id", flat=True)) == [bob.pk]
