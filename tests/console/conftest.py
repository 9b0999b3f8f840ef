"""A small world for the console's tests: two administrators, people, a channel, a local
group, an identity provider with a rule, a pending role request and an API token."""

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from knox.models import AuthToken

from accounts.models import (
    ExternalIdentity,
    Group,
    GroupMembership,
    GroupRoleRule,
    IdentityProvider,
    IdentityProviderKind,
    Role,
    RoleGrant,
    RoleRequest,
    User,
    WorkspaceSettings,
)
from accounts.scim.models import ScimToken
from accounts.scim.services.tokens import scim_token_create
from accounts.services import groups, identities, roles, tokens
from audit.models import AuditEvent
from eim.chat.barriers.models import BarrierPolicyVersion, BarrierRestriction
from eim.chat.barriers.services import barrier_policy_create, barrier_policy_preview
from eim.chat.models import Conversation
from tests.factories import ChannelFactory, UserFactory, chat_state


@dataclass
class World:
    ada: User  # an administrator: the one who acts
    dana: User  # a second administrator
    bob: User  # an employee, the subject of most changes
    carol: User
    channel: Conversation  # owned by alice, bob a member
    group: Group  # local, bob in it
    provider: IdentityProvider
    rule: GroupRoleRule
    pending: RoleRequest  # dana asked that carol be an auditor
    token_key: str  # bob's API token
    scim_token: ScimToken  # bound to okta, live
    policy_id: int  # barrier "Wall", Research / Advisory (carol), proposed and previewed


@pytest.fixture
def world(db: None) -> World:
    ada = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    dana = UserFactory(username="dana", roles=[Role.ADMINISTRATOR])
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    channel = ChannelFactory(creator=alice, name="desk", members=[bob])
    group = groups.group_create(actor=ada, display_name="Research")
    groups.group_members_add(actor=ada, group=group, user_ids=[bob.pk])
    provider = identities.identity_provider_create(
        actor=ada,
        slug="okta",
        kind=IdentityProviderKind.OIDC,
        name="Okta",
        issuer="https://okta.example",
        config={"client_id": "eim", "client_secret": "s3cr3t-value"},
    )
    identities.identity_link(provider=provider, user=bob, subject="00u-bob", via="test")
    rule = identities.group_role_rule_add(
        actor=ada, provider=provider, group_value="eim-admins", role=Role.EMPLOYEE
    )
    pending = roles.role_request(actor=dana, user_id=carol.pk, role=Role.AUDITOR)
    tokens.api_token_create(user=bob)
    token_key = AuthToken.objects.get(user=bob).token_key
    scim_token, _ = scim_token_create(name="okta-scim", provider=provider)
    advisory = groups.group_create(actor=ada, display_name="Advisory")
    groups.group_members_add(actor=ada, group=advisory, user_ids=[carol.pk])
    policy_id = barrier_policy_create(
        actor=ada, name="Wall", segment_a=group.pk, segment_b=advisory.pk
    ).policy_id
    barrier_policy_preview(actor=ada, policy_id=policy_id)
    return World(
        ada,
        dana,
        bob,
        carol,
        channel,
        group,
        provider,
        rule,
        pending,
        token_key,
        scim_token,
        policy_id,
    )


def console_state() -> dict[str, Any]:
    """Every row a refused console request must leave alone."""
    return {
        "users": list(
            User.objects.order_by("pk").values_list(
                "pk", "username", "is_active", "session_generation"
            )
        ),
        "grants": list(RoleGrant.objects.order_by("pk").values_list("user_id", "role")),
        "requests": list(RoleRequest.objects.order_by("pk").values_list("pk", "status")),
        "tokens": list(AuthToken.objects.order_by("digest").values_list("digest", flat=True)),
        "groups": list(Group.objects.order_by("pk").values_list("pk", "display_name")),
        "group_members": list(
            GroupMembership.objects.order_by("pk").values_list("group_id", "user_id")
        ),
        "providers": list(
            IdentityProvider.objects.order_by("pk").values_list(
                "pk", "name", "issuer", "enabled", "config"
            )
        ),
        "identities": list(ExternalIdentity.objects.order_by("pk").values_list("pk", "user_id")),
        "rules": list(GroupRoleRule.objects.order_by("pk").values_list("pk", "group_value")),
        "settings": list(WorkspaceSettings.objects.order_by("pk").values_list("version", "values")),
        "scim_tokens": list(
            ScimToken.objects.order_by("pk").values_list("pk", "name", "digest", "revoked_at")
        ),
        "barriers": list(
            BarrierPolicyVersion.objects.order_by("pk").values_list(
                "pk", "policy__removed_at", "segment_a_id", "segment_b_id", "state", "decision"
            )
        ),
        "barrier_restrictions": list(
            BarrierRestriction.objects.order_by("pk").values_list("conversation_id", "policy_id")
        ),
        "audit": AuditEvent.objects.count(),
        "chat": chat_state(),
    }


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
