"""Channels, groups and identity providers through the console and its API: metadata only,
the membership rules obeyed, provider-owned groups read-only, secrets never shown back."""

import pytest

from accounts.models import Group, GroupSource, IdentityProvider
from accounts.services import groups
from audit.models import AuditEvent, AuditEventType
from eim.chat.models import Conversation, MemberRole, Membership
from tests.conftest import api_as
from tests.factories import send

from .conftest import World, console_state, signed_in

pytestmark = pytest.mark.django_db


def _flashes(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def test_channels_list_metadata_never_messages(world: World):
    send(world.bob, world.channel, "quarterly numbers are bad")

    listing = signed_in(world.ada).get("/console/channels/").content.decode()
    detail = signed_in(world.ada).get(f"/console/channels/{world.channel.pk}/").content.decode()
    api = api_as(world.ada).get(f"/api/v1/admin/channels/{world.channel.pk}/").json()

    assert "#desk" in listing
    assert "alice" in listing  # the owner
    assert "quarterly" not in listing + detail + str(api)
    assert api["owners"] == ["alice"]
    assert api["member_count"] == 2


def test_removing_the_last_owner_is_refused_with_nothing_changed(world: World):
    alice = Membership.objects.get(conversation=world.channel, role=MemberRole.OWNER).user
    client = api_as(world.ada)
    before = console_state()

    response = client.delete(f"/api/v1/admin/channels/{world.channel.pk}/members/{alice.pk}/")

    assert (response.status_code, response.json()["code"]) == (409, "last_owner")
    assert console_state() == before


def test_hand_over_then_remove_through_the_pages(world: World):
    admin = signed_in(world.ada)
    alice = Membership.objects.get(conversation=world.channel, role=MemberRole.OWNER).user

    handed = admin.post(
        f"/console/channels/{world.channel.pk}/owner/",
        {"user": world.bob.pk, "confirm": "yes"},
        follow=True,
    )
    removed = admin.post(
        f"/console/channels/{world.channel.pk}/members/{alice.pk}/remove/",
        {"confirm": "yes"},
        follow=True,
    )

    hand_over = AuditEvent.objects.get(event_type=AuditEventType.CONVERSATION_OWNERSHIP_TRANSFERRED)
    removal = AuditEvent.objects.get(event_type=AuditEventType.CONVERSATION_MEMBER_REMOVED)
    assert _flashes(handed)[-1] == (
        f"Ownership of desk handed over — audit event #{hand_over.seq}."
    )
    assert _flashes(removed)[-1] == f"Removed from desk — audit event #{removal.seq}."
    assert list(
        Membership.objects.filter(conversation=world.channel).values_list("user", "role")
    ) == [(world.bob.pk, MemberRole.OWNER)]


def test_adding_an_unknown_person_changes_nothing(world: World):
    admin = signed_in(world.ada)
    admin.get("/console/")
    before = console_state()

    response = admin.post(
        f"/console/channels/{world.channel.pk}/members/add/", {"usernames": "nobody"}, follow=True
    )

    assert _flashes(response) == ["Nothing changed: no active person named nobody"]
    assert console_state() == before


def test_a_provider_owned_group_is_read_only(world: World):
    scim = groups.group_create(
        actor=None,
        display_name="Traders",
        source=GroupSource.SCIM,
        provider=world.provider,
        external_id="g-1",
        via="scim",
    )
    admin = signed_in(world.ada)
    admin.get("/console/")
    before = console_state()

    page = admin.post(f"/console/groups/{scim.pk}/rename/", {"display_name": "X"}, follow=True)
    api = api_as(world.ada).delete(f"/api/v1/admin/groups/{scim.pk}/")

    assert "managed by its identity provider" in _flashes(page)[0]
    assert (api.status_code, api.json()["code"]) == (409, "read_only")
    assert console_state() == before


def test_local_groups_are_made_filled_and_deleted(world: World):
    client = api_as(world.ada)

    made = client.post("/api/v1/admin/groups/", {"display_name": "Trading"}, format="json").json()
    group_id = made["result"]["id"]
    added = client.post(
        f"/api/v1/admin/groups/{group_id}/members/", {"users": [world.carol.pk]}, format="json"
    ).json()
    duplicate = client.post("/api/v1/admin/groups/", {"display_name": "Trading"}, format="json")
    deleted = client.delete(f"/api/v1/admin/groups/{group_id}/").json()

    assert added["result"] == [world.carol.pk]
    assert duplicate.status_code == 409
    assert len(made["audit_events"]) == len(added["audit_events"]) == 1
    assert len(deleted["audit_events"]) == 1
    assert not Group.objects.filter(pk=group_id).exists()


def test_a_client_secret_is_write_only(world: World):
    admin = signed_in(world.ada)

    form = admin.get(f"/console/providers/{world.provider.pk}/").content.decode()
    listed = api_as(world.ada).get("/api/v1/admin/identity-providers/").json()
    admin.post(
        f"/console/providers/{world.provider.pk}/",
        {"name": "Okta EU", "issuer": "https://okta.example", "client_id": "eim2"},
    )

    assert "s3cr3t-value" not in form
    assert "(set; leave empty to keep it)" in form
    assert listed[0]["config"]["client_secret"] == "(set)"
    provider = IdentityProvider.objects.get(pk=world.provider.pk)
    assert provider.config == {"client_id": "eim2", "client_secret": "s3cr3t-value"}
    assert provider.name == "Okta EU"
    updated = AuditEvent.objects.filter(event_type=AuditEventType.IDENTITY_PROVIDER_UPDATED).last()
    assert "s3cr3t" not in updated.canonical


def test_a_provider_is_added_disabled_and_given_rules(world: World):
    client = api_as(world.ada)

    made = client.post(
        "/api/v1/admin/identity-providers/",
        {
            "slug": "entra",
            "kind": "oidc",
            "name": "Entra",
            "issuer": "https://login.ms/x",
            "config": {"client_secret": "abc", "subject_claim": "oid"},
        },
        format="json",
    ).json()
    pk = made["result"]["id"]
    disabled = client.patch(
        f"/api/v1/admin/identity-providers/{pk}/", {"enabled": False}, format="json"
    ).json()
    rule = client.post(
        f"/api/v1/admin/identity-providers/{pk}/rules/",
        {"group_value": "eim-auditors", "role": "auditor"},
        format="json",
    ).json()

    assert made["result"]["config"] == {"client_secret": "(set)", "subject_claim": "oid"}
    assert disabled["result"]["enabled"] is False
    assert rule["result"]["role"] == "auditor"
    assert all(len(r["audit_events"]) == 1 for r in (made, disabled, rule))


def test_a_provider_missing_its_issuer_is_refused(world: World):
    before = console_state()

    response = api_as(world.ada).post(
        "/api/v1/admin/identity-providers/",
        {"slug": "x", "kind": "saml", "name": "X"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["detail"] == {"issuer": "required"}
    assert console_state() == before


def test_empty_states_say_what_to_do(world: World):
    admin = signed_in(world.ada)

    channels = admin.get("/console/channels/", {"q": "no-such-channel"}).content.decode()
    people = admin.get("/console/people/", {"q": "zzzz"}).content.decode()

    assert "No conversation matches" in channels
    assert "Nobody matches" in people


def test_an_administrator_makes_a_channel_private_and_public_through_the_page(world: World):
    admin = signed_in(world.ada)
    members = set(Membership.objects.filter(conversation=world.channel).values_list("user", "role"))

    made_private = admin.post(
        f"/console/channels/{world.channel.pk}/visibility/", {"private": "true"}, follow=True
    )
    page = admin.get(f"/console/channels/{world.channel.pk}/").content.decode()

    audit = AuditEvent.objects.get(event_type=AuditEventType.CONVERSATION_VISIBILITY_CHANGED)
    assert _flashes(made_private)[-1] == f"desk is private — audit event #{audit.seq}."
    assert audit.details["visibility"] == {"from": "public", "to": "private"}
    assert Conversation.objects.get(pk=world.channel.pk).kind == "private"
    assert "Make public" in page
    assert (
        set(Membership.objects.filter(conversation=world.channel).values_list("user", "role"))
        == members
    )
