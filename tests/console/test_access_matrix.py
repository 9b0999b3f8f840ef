"""Every console page and /api/v1/admin/ endpoint x every kind of account: only an active
administrator gets in; every other request is refused with nothing changed (no row, no audit
event). The superuser flag counts for nothing; a deactivated administrator is signed out."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role, User
from tests.conftest import api_as
from tests.factories import UserFactory

from .conftest import World, console_state, signed_in

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: Callable[[World], str]
    data: Callable[[World], dict[str, Any]] = lambda w: {}


def _c(path: str) -> Callable[[World], str]:
    return lambda w: "/console/" + path.format(w=w)


def _a(path: str) -> Callable[[World], str]:
    return lambda w: "/api/v1/admin/" + path.format(w=w)


YES = {"confirm": "yes"}

PAGES: dict[str, Endpoint] = {
    "home": Endpoint("get", _c("")),
    "people": Endpoint("get", _c("people/")),
    "person": Endpoint("get", _c("people/{w.bob.pk}/")),
    "deactivate": Endpoint("post", _c("people/{w.bob.pk}/deactivate/"), lambda w: YES),
    "reactivate": Endpoint("post", _c("people/{w.bob.pk}/reactivate/")),
    "sign out": Endpoint("post", _c("people/{w.bob.pk}/sign-out/"), lambda w: YES),
    "revoke token": Endpoint(
        "post", _c("people/{w.bob.pk}/tokens/{w.token_key}/revoke/"), lambda w: YES
    ),
    "request role": Endpoint(
        "post", _c("people/{w.bob.pk}/roles/request/"), lambda w: {"role": "auditor"}
    ),
    "revoke role": Endpoint(
        "post", _c("people/{w.bob.pk}/roles/revoke/"), lambda w: {"role": "employee", **YES}
    ),
    "role queue": Endpoint("get", _c("roles/")),
    "approve": Endpoint("post", _c("roles/{w.pending.pk}/approve/")),
    "refuse": Endpoint("post", _c("roles/{w.pending.pk}/refuse/"), lambda w: YES),
    "channels": Endpoint("get", _c("channels/")),
    "channel": Endpoint("get", _c("channels/{w.channel.pk}/")),
    "channel add": Endpoint(
        "post", _c("channels/{w.channel.pk}/members/add/"), lambda w: {"usernames": "carol"}
    ),
    "channel remove": Endpoint(
        "post", _c("channels/{w.channel.pk}/members/{w.bob.pk}/remove/"), lambda w: YES
    ),
    "archive": Endpoint("post", _c("channels/{w.channel.pk}/archive/"), lambda w: YES),
    "unarchive": Endpoint("post", _c("channels/{w.channel.pk}/unarchive/")),
    "make private": Endpoint(
        "post", _c("channels/{w.channel.pk}/visibility/"), lambda w: {"private": "true"}
    ),
    "hand over": Endpoint(
        "post", _c("channels/{w.channel.pk}/owner/"), lambda w: {"user": w.bob.pk, **YES}
    ),
    "groups": Endpoint("get", _c("groups/")),
    "group create": Endpoint("post", _c("groups/new/"), lambda w: {"display_name": "Trading"}),
    "group": Endpoint("get", _c("groups/{w.group.pk}/")),
    "group rename": Endpoint(
        "post", _c("groups/{w.group.pk}/rename/"), lambda w: {"display_name": "Sales"}
    ),
    "group delete": Endpoint("post", _c("groups/{w.group.pk}/delete/"), lambda w: YES),
    "group add": Endpoint(
        "post", _c("groups/{w.group.pk}/members/add/"), lambda w: {"usernames": "carol"}
    ),
    "group remove": Endpoint(
        "post", _c("groups/{w.group.pk}/members/{w.bob.pk}/remove/"), lambda w: YES
    ),
    "providers": Endpoint("get", _c("providers/")),
    "provider new form": Endpoint("get", _c("providers/new/")),
    "provider create": Endpoint(
        "post",
        _c("providers/new/"),
        lambda w: {"kind": "saml", "slug": "adfs", "name": "ADFS", "issuer": "urn:adfs"},
    ),
    "provider": Endpoint("get", _c("providers/{w.provider.pk}/")),
    "provider edit": Endpoint(
        "post",
        _c("providers/{w.provider.pk}/"),
        lambda w: {"name": "Hijacked", "issuer": "https://evil.example"},
    ),
    "provider disable": Endpoint(
        "post", _c("providers/{w.provider.pk}/enable/"), lambda w: {"enabled": "no", **YES}
    ),
    "rule add": Endpoint(
        "post",
        _c("providers/{w.provider.pk}/rules/add/"),
        lambda w: {"group_value": "x", "role": "administrator"},
    ),
    "rule remove": Endpoint(
        "post", _c("providers/{w.provider.pk}/rules/{w.rule.pk}/remove/"), lambda w: YES
    ),
    "scim tokens": Endpoint("get", _c("scim-tokens/")),
    "scim token create": Endpoint("post", _c("scim-tokens/new/"), lambda w: {"name": "rogue"}),
    "scim token revoke": Endpoint(
        "post", _c("scim-tokens/{w.scim_token.pk}/revoke/"), lambda w: YES
    ),
    "settings": Endpoint("get", _c("settings/")),
    "settings save": Endpoint(
        "post", _c("settings/"), lambda w: {"max_message_chars": "5", "send_rate": "1/60"}
    ),
    "barriers": Endpoint("get", _c("barriers/")),
    "barrier create": Endpoint(
        "post",
        _c("barriers/new/"),
        lambda w: {"name": "Rogue", "segment_a": w.group.pk, "segment_b": w.group.pk + 1},
    ),
    "barrier": Endpoint("get", _c("barriers/{w.policy_id}/")),
    "barrier propose": Endpoint(
        "post",
        _c("barriers/{w.policy_id}/propose/"),
        lambda w: {"segment_a": w.group.pk + 1, "segment_b": w.group.pk},
    ),
    "barrier preview run": Endpoint("post", _c("barriers/{w.policy_id}/preview/")),
    "barrier preview": Endpoint("get", _c("barriers/{w.policy_id}/preview/")),
    "barrier activate": Endpoint(
        "post",
        _c("barriers/{w.policy_id}/activate/"),
        lambda w: {"version": 1, "channels": "remove_segment_a", **YES},
    ),
    "barrier withdraw": Endpoint(
        "post", _c("barriers/{w.policy_id}/withdraw/"), lambda w: {"version": 1, **YES}
    ),
    "barrier deactivate": Endpoint("post", _c("barriers/{w.policy_id}/deactivate/"), lambda w: YES),
}

API: dict[str, Endpoint] = {
    "people": Endpoint("get", _a("people/")),
    "person": Endpoint("get", _a("people/{w.bob.pk}/")),
    "deactivate": Endpoint("post", _a("people/{w.bob.pk}/deactivate/")),
    "reactivate": Endpoint("post", _a("people/{w.bob.pk}/reactivate/")),
    "sign out": Endpoint("post", _a("people/{w.bob.pk}/sign-out/")),
    "revoke token": Endpoint("delete", _a("people/{w.bob.pk}/tokens/{w.token_key}/")),
    "revoke role": Endpoint(
        "post", _a("people/{w.bob.pk}/roles/revoke/"), lambda w: {"role": "employee"}
    ),
    "role queue": Endpoint("get", _a("role-requests/")),
    "request role": Endpoint(
        "post", _a("role-requests/"), lambda w: {"user": w.bob.pk, "role": "auditor"}
    ),
    "approve": Endpoint("post", _a("role-requests/{w.pending.pk}/approve/")),
    "refuse": Endpoint("post", _a("role-requests/{w.pending.pk}/refuse/")),
    "channels": Endpoint("get", _a("channels/")),
    "channel": Endpoint("get", _a("channels/{w.channel.pk}/")),
    "channel add": Endpoint(
        "post", _a("channels/{w.channel.pk}/members/"), lambda w: {"users": [w.carol.pk]}
    ),
    "channel remove": Endpoint("delete", _a("channels/{w.channel.pk}/members/{w.bob.pk}/")),
    "archive": Endpoint("post", _a("channels/{w.channel.pk}/archive/")),
    "unarchive": Endpoint("post", _a("channels/{w.channel.pk}/unarchive/")),
    "hand over": Endpoint(
        "post", _a("channels/{w.channel.pk}/owner/"), lambda w: {"user": w.bob.pk}
    ),
    "groups": Endpoint("get", _a("groups/")),
    "group create": Endpoint("post", _a("groups/"), lambda w: {"display_name": "Trading"}),
    "group": Endpoint("get", _a("groups/{w.group.pk}/")),
    "group rename": Endpoint(
        "patch", _a("groups/{w.group.pk}/"), lambda w: {"display_name": "Sales"}
    ),
    "group delete": Endpoint("delete", _a("groups/{w.group.pk}/")),
    "group add": Endpoint(
        "post", _a("groups/{w.group.pk}/members/"), lambda w: {"users": [w.carol.pk]}
    ),
    "group remove": Endpoint("delete", _a("groups/{w.group.pk}/members/{w.bob.pk}/")),
    "providers": Endpoint("get", _a("identity-providers/")),
    "provider create": Endpoint(
        "post",
        _a("identity-providers/"),
        lambda w: {"kind": "saml", "slug": "adfs", "name": "ADFS", "issuer": "urn:adfs"},
    ),
    "provider edit": Endpoint(
        "patch", _a("identity-providers/{w.provider.pk}/"), lambda w: {"enabled": False}
    ),
    "rule add": Endpoint(
        "post",
        _a("identity-providers/{w.provider.pk}/rules/"),
        lambda w: {"group_value": "x", "role": "administrator"},
    ),
    "rule remove": Endpoint("delete", _a("identity-providers/{w.provider.pk}/rules/{w.rule.pk}/")),
    "scim tokens": Endpoint("get", _a("scim-tokens/")),
    "scim token create": Endpoint("post", _a("scim-tokens/"), lambda w: {"name": "rogue"}),
    "scim token revoke": Endpoint("delete", _a("scim-tokens/{w.scim_token.pk}/")),
    "settings": Endpoint("get", _a("settings/")),
    "settings save": Endpoint("patch", _a("settings/"), lambda w: {"max_message_chars": 5}),
}

ACCOUNTS: dict[str, Callable[[], User]] = {
    "employee": lambda: UserFactory(username="emma"),
    "compliance officer": lambda: UserFactory(username="olivia", roles=[Role.COMPLIANCE_OFFICER]),
    "auditor": lambda: UserFactory(username="audrey", roles=[Role.AUDITOR]),
    "superuser without roles": lambda: UserFactory(
        username="root", is_superuser=True, is_staff=True, roles=[]
    ),
    "deactivated administrator": lambda: UserFactory(
        username="gone", roles=[Role.ADMINISTRATOR], is_active=False
    ),
}


def _page(client: Client, spec: Endpoint, world: World) -> Any:
    return getattr(client, spec.method)(spec.path(world), spec.data(world))


def _api(client: APIClient, spec: Endpoint, world: World) -> Any:
    return getattr(client, spec.method)(spec.path(world), spec.data(world), format="json")


@pytest.mark.parametrize("account", list(ACCOUNTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_refuses_everyone_but_an_administrator(world, name, account):
    user = ACCOUNTS[account]()
    before = console_state()

    response = _page(signed_in(user), PAGES[name], world)

    if user.is_active:
        assert response.status_code == 403
        assert b"The console is for administrators" in response.content
    else:  # a deactivated account is no longer signed in at all
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert console_state() == before


@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_sends_the_signed_out_to_sign_in(world, name):
    before = console_state()

    response = _page(Client(), PAGES[name], world)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/console/")
    assert console_state() == before


@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_serves_an_administrator(world, name):
    response = _page(signed_in(world.ada), PAGES[name], world)

    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].startswith("/console/")


@pytest.mark.parametrize("account", list(ACCOUNTS))
@pytest.mark.parametrize("name", list(API))
def test_an_endpoint_refuses_everyone_but_an_administrator(world, name, account):
    user = ACCOUNTS[account]()
    before = console_state()

    response = _api(api_as(user), API[name], world)

    assert (response.status_code, response.json()["code"]) == (403, "not_administrator")
    assert console_state() == before


@pytest.mark.parametrize("name", list(API))
def test_an_endpoint_refuses_the_signed_out(world, name):
    before = console_state()

    response = _api(APIClient(), API[name], world)

    assert response.status_code == 401
    assert console_state() == before


@pytest.mark.parametrize("name", list(API))
def test_an_endpoint_serves_an_administrator(world, name):
    response = _api(api_as(world.ada), API[name], world)

    assert response.status_code == 200, response.json()


def test_the_matrix_covers_every_console_route():
    from console.api.urls import urlpatterns as api_routes
    from console.urls import urlpatterns as page_routes

    api_methods = sum(
        len({"get", "post", "patch", "delete", "put"} & set(dir(p.callback.view_class)))
        for p in api_routes
    )
    assert len(PAGES) >= len(page_routes)
    assert len(API) == api_methods
