"""OIDC sign-in against a real OpenID Connect provider (node-oidc-provider), end to end."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from accounts.models import (
    ExternalIdentity,
    Group,
    GroupSource,
    Role,
    RoleGrant,
    RoleRequest,
    RoleRequestStatus,
    User,
)
from accounts.selectors import user_roles
from accounts.services.identities import group_role_rule_add, identity_provider_update
from tests.factories import UserFactory

from .conftest import oidc_authorize, oidc_sign_in, rsa_private_jwk

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _signed_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_the_authorization_request_carries_state_nonce_and_pkce(corp):
    query = parse_qs(urlparse(oidc_authorize(Client())).query)

    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 8
    assert len(query["nonce"][0]) >= 32
    assert "openid" in query["scope"][0].split()


def test_a_first_sign_in_provisions_the_person_keyed_by_issuer_and_subject(corp, oidc_idp):
    client = Client()

    response = oidc_sign_in(client, next_url="/?c=7")

    assert response.status_code == 302
    assert response["Location"] == "/?c=7"
    user = _signed_in_user(client)
    assert user is not None
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "alice.archer",
        "alice@corp.example",
        "Alice",
        "Archer",
    )
    assert not user.has_usable_password()
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject, identity.provider) == (
        oidc_idp.issuer,
        "okta-0001",
        corp,
    )
    groups = Group.objects.filter(members=user).order_by("external_id")
    assert [(g.external_id, g.source, g.provider_id) for g in groups] == [
        ("eng", GroupSource.SSO, corp.pk),
        ("everyone", GroupSource.SSO, corp.pk),
    ]


def test_an_existing_local_account_with_the_same_email_and_username_is_never_taken_over(
    corp,
):
    local = UserFactory(username="alice.archer", email="alice@corp.example")
    client = Client()

    oidc_sign_in(client)

    user = _signed_in_user(client)
    assert user is not None
    assert user.pk != local.pk
    assert user.username == "alice.archer-2"
    assert not ExternalIdentity.objects.filter(user=local).exists()


def test_a_changed_email_updates_the_profile_not_the_identity(corp, oidc_idp):
    first = Client()
    oidc_sign_in(first)
    user = _signed_in_user(first)
    oidc_idp.accounts({"okta-0001": {"email": "a.archer@newcorp.example", "groups": ["eng"]}})

    again = Client()
    oidc_sign_in(again)

    assert _signed_in_user(again) == user
    user.refresh_from_db()
    assert user.email == "a.archer@newcorp.example"
    assert ExternalIdentity.objects.filter(user=user).count() == 1
    # Left the "everyone" group at the IdP: left it here too.
    assert list(Group.objects.filter(members=user).values_list("external_id", flat=True)) == ["eng"]


def test_a_scim_only_provider_refuses_an_unknown_person_with_a_clear_page(corp):
    identity_provider_update(actor=None, provider=corp, jit_provisioning=False)
    client = Client()

    response = oidc_sign_in(client)

    assert response.status_code == 403
    assert "has not been provisioned" in response.content.decode()
    assert _signed_in_user(client) is None
    assert not User.objects.exists()
    assert not ExternalIdentity.objects.exists()


def test_a_deactivated_person_is_refused(corp):
    oidc_sign_in(Client())
    User.objects.update(is_active=False)
    client = Client()

    response = oidc_sign_in(client)

    assert response.status_code == 403
    assert _signed_in_user(client) is None


def test_group_rules_grant_employee_at_once_and_only_request_a_four_eyes_role(corp):
    group_role_rule_add(actor=None, provider=corp, group_value="eng", role=Role.EMPLOYEE)  # type: ignore[arg-type]
    group_role_rule_add(actor=None, provider=corp, group_value="everyone", role=Role.AUDITOR)  # type: ignore[arg-type]
    client = Client()

    oidc_sign_in(client)

    user = _signed_in_user(client)
    assert user_roles(user=user) == {Role.EMPLOYEE}
    request = RoleRequest.objects.get(user=user, role=Role.AUDITOR)
    assert request.status == RoleRequestStatus.PENDING
    assert request.requested_by is None
    assert not RoleGrant.objects.filter(user=user, role=Role.AUDITOR).exists()
    # A second sign-in asks again for nothing.
    oidc_sign_in(Client())
    assert RoleRequest.objects.filter(user=user).count() == 2


def _claims_groups(oidc_idp, groups: list[str]) -> None:
    oidc_idp.accounts(
        {
            "okta-0001": {
                "email": "alice@corp.example",
                "preferred_username": "alice.archer",
                "groups": groups,
            }
        }
    )


def test_leaving_the_claims_group_takes_the_mapped_role_away_at_the_next_sign_in(corp, oidc_idp):
    group_role_rule_add(actor=None, provider=corp, group_value="eng", role=Role.EMPLOYEE)  # type: ignore[arg-type]
    group_role_rule_add(actor=None, provider=corp, group_value="everyone", role=Role.AUDITOR)  # type: ignore[arg-type]
    client = Client()
    oidc_sign_in(client)
    user = _signed_in_user(client)
    assert user_roles(user=user) == {Role.EMPLOYEE}

    _claims_groups(oidc_idp, ["eng"])  # the IdP took them out of "everyone"
    oidc_sign_in(Client())
    request = RoleRequest.objects.get(user=user, role=Role.AUDITOR)
    assert request.status == RoleRequestStatus.WITHDRAWN
    assert user_roles(user=user) == {Role.EMPLOYEE}

    _claims_groups(oidc_idp, [])  # and out of "eng"
    oidc_sign_in(Client())
    assert user_roles(user=user) == set()
    assert not Group.objects.filter(members=user).exists()


def test_a_role_granted_by_hand_outlives_the_claims_group(corp, oidc_idp):
    group_role_rule_add(actor=None, provider=corp, group_value="eng", role=Role.EMPLOYEE)  # type: ignore[arg-type]
    client = Client()
    oidc_sign_in(client)
    user = _signed_in_user(client)
    RoleGrant.objects.filter(user=user).delete()
    RoleGrant.objects.create(user=user, role=Role.EMPLOYEE)  # by hand, not from the rule

    _claims_groups(oidc_idp, [])
    oidc_sign_in(Client())

    assert user_roles(user=user) == {Role.EMPLOYEE}


def test_the_issuer_may_rotate_its_signing_key(corp, oidc_idp):
    oidc_sign_in(Client())  # the JWKS with key-a is now cached
    oidc_idp.start([rsa_private_jwk("key-b")])
    client = Client()

    response = oidc_sign_in(client)

    assert response.status_code == 302
    assert _signed_in_user(client) is not None
