"""SCIM tokens in the console and the admin API: created through accounts.scim's service
(audited, the administrator named), the secret shown once; revoked, the SCIM API says 401."""

import re

import pytest
from django.test import Client

from accounts.scim.models import ScimToken
from audit.models import AuditEvent, AuditEventType
from tests.conftest import api_as

from .conftest import World, console_state, signed_in

pytestmark = pytest.mark.django_db


def _scim(secret: str) -> int:
    return Client().get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code


def test_a_token_made_on_the_page_is_shown_once_and_works_until_revoked(world: World):
    admin = signed_in(world.ada)

    made = admin.post(
        "/console/scim-tokens/new/", {"name": "azure-scim", "provider": world.provider.pk}
    )
    secret = re.search(r'id="scim-secret">(scim_[^<]+)<', made.content.decode()).group(1)
    token = ScimToken.objects.get(name="azure-scim")
    listed = admin.get("/console/scim-tokens/").content.decode()
    accepted = _scim(secret)
    admin.post(f"/console/scim-tokens/{token.pk}/revoke/", {"confirm": "yes"})

    assert "it will not be shown again" in made.content.decode()
    assert "no-store" in made["Cache-Control"]
    assert token.provider == world.provider
    assert secret not in listed
    assert "azure-scim" in listed
    assert accepted == 200
    assert _scim(secret) == 401
    created = AuditEvent.objects.get(
        event_type=AuditEventType.SCIM_TOKEN_CREATED, details__name="azure-scim"
    )
    revoked = AuditEvent.objects.get(
        event_type=AuditEventType.SCIM_TOKEN_REVOKED, details__name="azure-scim"
    )
    assert created.actor == world.ada
    assert revoked.actor == world.ada


def test_the_page_asks_before_revoking_and_refuses_bad_input(world: World):
    admin = signed_in(world.ada)
    admin.get("/console/scim-tokens/")  # entering the console is recorded once per session
    before = console_state()

    asked = admin.post(f"/console/scim-tokens/{world.scim_token.pk}/revoke/")
    nameless = admin.post("/console/scim-tokens/new/", {"name": " "})
    taken = admin.post("/console/scim-tokens/new/", {"name": "okta-scim"})
    no_provider = admin.post("/console/scim-tokens/new/", {"name": "x", "provider": "999999"})

    assert asked.status_code == 200
    assert "Revoke the SCIM token okta-scim?" in asked.content.decode()
    assert [r.status_code for r in (nameless, taken, no_provider)] == [302, 302, 302]
    assert console_state() == before


def test_the_api_creates_lists_and_revokes(world: World):
    api = api_as(world.ada)

    made = api.post(
        "/api/v1/admin/scim-tokens/", {"name": "api-scim", "provider": "okta"}, format="json"
    )
    secret = made.json()["result"]["secret"]
    listed = api.get("/api/v1/admin/scim-tokens/").json()
    accepted = _scim(secret)
    token_id = made.json()["result"]["id"]
    revoked = api.delete(f"/api/v1/admin/scim-tokens/{token_id}/")
    again = api.delete(f"/api/v1/admin/scim-tokens/{token_id}/")

    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    assert made.json()["result"]["provider"] == "okta"
    assert len(made.json()["audit_events"]) == 1
    assert {t["name"] for t in listed} == {"api-scim", "okta-scim"}
    assert all("secret" not in t and "digest" not in t for t in listed)
    assert accepted == 200
    assert revoked.status_code == 200
    assert revoked.json()["result"]["revoked_at"] is not None
    assert again.json()["audit_events"] == []
    assert _scim(secret) == 401


def test_the_api_refuses_bad_input_with_nothing_changed(world: World):
    api = api_as(world.ada)
    before = console_state()

    taken = api.post("/api/v1/admin/scim-tokens/", {"name": "okta-scim"}, format="json")
    nameless = api.post("/api/v1/admin/scim-tokens/", {"name": "  "}, format="json")
    unknown = api.post(
        "/api/v1/admin/scim-tokens/", {"name": "x", "provider": "nope"}, format="json"
    )
    missing = api.delete("/api/v1/admin/scim-tokens/999999/")

    assert (taken.status_code, taken.json()["code"]) == (400, "invalid_input")
    assert nameless.status_code == 400
    assert unknown.status_code == 404
    assert missing.status_code == 404
    assert console_state() == before
