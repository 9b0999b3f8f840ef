"""/Users: create, read, replace, delete (deactivation), filters, pages and SCIM errors."""

import pytest
from auditlog.context import set_extra_data
from auditlog.models import LogEntry
from auditlog.receivers import log_create

from accounts.models import ExternalIdentity, User
from accounts.scim.models import ScimUserProfile
from accounts.services.identities import identity_link
from audit.models import AuditEvent
from tests.factories import UserFactory

from .conftest import ENTERPRISE, ERROR, USER, ScimClient, user_body

pytestmark = pytest.mark.django_db


def _create(scim: ScimClient, user_name: str, **extra) -> dict:
    response = scim.post("/Users", user_body(user_name, **extra))
    assert response.status_code == 201, response.content
    return response.json()


def _error(response, status: int, scim_type: str | None = None) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    return body


def _create_ada(okta: ScimClient) -> dict:
    return _create(
        okta,
        "ada@example.com",
        externalId="00u1ada",
        displayName="Ada Lovelace",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        emails=[{"value": "ada@example.com", "type": "work", "primary": True}],
    )


def test_create_keeps_the_email_as_profile_data_and_links_the_external_id(okta: ScimClient):
    body = _create_ada(okta)

    user = User.objects.get(pk=int(body["id"]))
    assert (user.username, user.display_name, user.email) == (
        "ada@example.com",
        "Ada Lovelace",
        "ada@example.com",
    )
    assert (user.first_name, user.last_name, user.is_active) == ("Ada", "Lovelace", True)
    assert not user.has_usable_password()
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == ("https://example.okta.com", "00u1ada")
    assert body["externalId"] == "00u1ada"
    assert body["emails"] == [{"value": "ada@example.com", "type": "work", "primary": True}]
    assert body["meta"]["location"] == f"http://testserver/scim/v2/Users/{user.pk}"
    created = AuditEvent.objects.get(event_type="user.created")
    assert created.actor is None
    assert created.details["via"] == "scim:okta"


def test_a_creations_model_history_entry_is_django_auditlogs_own(okta: ScimClient):
    body = _create_ada(okta)
    user = User.objects.get(pk=int(body["id"]))
    with set_extra_data({"actor": None, "remote_addr": "127.0.0.1", "remote_port": None}):
        log_create(sender=User, instance=user, created=True)  # auditlog's own, as reference

    entry, reference = LogEntry.objects.filter(object_pk=str(user.pk)).order_by("pk")

    compared = [
        f.attname for f in LogEntry._meta.concrete_fields if f.attname not in ("id", "timestamp")
    ]
    assert [getattr(entry, f) for f in compared] == [getattr(reference, f) for f in compared]
    assert entry.changes["username"] == ["None", "ada@example.com"]
    assert entry.remote_addr == "127.0.0.1"
    assert entry.actor_id is None


def test_an_unbound_token_links_no_identity(scim: ScimClient):
    _create(scim, "bob@example.com", externalId="ext-bob")

    assert not ExternalIdentity.objects.exists()


def test_get_answers_the_resource_with_its_etag(scim: ScimClient):
    created = _create(scim, "ada@example.com")

    response = scim.get(f"/Users/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created
    assert response["ETag"] == created["meta"]["version"]
    assert scim.get(f"/Users/{created['id']}", if_none_match=response["ETag"]).status_code == 304


@pytest.mark.parametrize("user_id", ["999999", "abc", "-1", "1" * 30])
def test_an_unknown_user_is_a_scim_404(scim: ScimClient, user_id):
    _error(scim.get(f"/Users/{user_id}"), 404)


def test_local_accounts_are_invisible_to_scim_and_cannot_be_taken_over(scim: ScimClient, alice):
    listed = scim.get("/Users").json()
    fetched = scim.get(f"/Users/{alice.pk}")
    clash = scim.post("/Users", user_body(alice.username.upper()))

    assert listed["totalResults"] == 0
    _error(fetched, 404)
    _error(clash, 409, "uniqueness")
    assert User.objects.filter(username__iexact=alice.username).count() == 1


def test_a_token_sees_only_what_was_provisioned_under_its_binding(scim, okta):
    by_okta = _create(okta, "okta.person@example.com")

    assert scim.get("/Users").json()["totalResults"] == 0
    _error(scim.get(f"/Users/{by_okta['id']}"), 404)
    _error(scim.delete(f"/Users/{by_okta['id']}"), 404)
    assert User.objects.get(pk=by_okta["id"]).is_active


def test_a_taken_username_is_a_409_and_nothing_changes(scim: ScimClient):
    _create(scim, "ada@example.com")
    events = AuditEvent.objects.count()

    _error(scim.post("/Users", user_body("ADA@example.com")), 409, "uniqueness")

    assert User.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_a_taken_external_id_is_a_409(okta: ScimClient):
    _create(okta, "ada@example.com", externalId="00u1")

    _error(okta.post("/Users", user_body("bob@example.com", externalId="00u1")), 409, "uniqueness")
    assert not User.objects.filter(username="bob@example.com").exists()


def test_under_a_bound_token_a_taken_username_in_any_case_is_a_409(okta: ScimClient, alice):
    # The push's path checks userName and identity in one statement: the same rules hold.
    _create(okta, "ada@example.com", externalId="00u1")
    events = AuditEvent.objects.count()

    by_scim = okta.post("/Users", user_body("ADA@Example.com", externalId="00u2"))
    by_local = okta.post("/Users", user_body(alice.username.upper(), externalId="00u3"))

    _error(by_scim, 409, "uniqueness")
    _error(by_local, 409, "uniqueness")
    assert User.objects.count() == 2
    assert ExternalIdentity.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_under_a_bound_token_an_identity_linked_elsewhere_is_a_409(okta: ScimClient, alice):
    identity_link(provider=okta.token.provider, user=alice, subject="00u9", via="sso")
    events = AuditEvent.objects.count()

    response = okta.post("/Users", user_body("someone.new@example.com", externalId="00u9"))

    _error(response, 409, "uniqueness")
    assert not User.objects.filter(username="someone.new@example.com").exists()
    assert ExternalIdentity.objects.get(subject="00u9").user == alice
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        (b"{not json", "invalidSyntax"),
        (b"[1, 2]", "invalidSyntax"),
        ("\ufffe".encode("utf-16"), "invalidSyntax"),
        ({"userName": "no-schemas@example.com"}, "invalidSyntax"),
        (
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "x"},
            "invalidSyntax",
        ),
        ({"schemas": [USER]}, "invalidValue"),
        ({"schemas": [USER], "userName": ""}, "invalidValue"),
        ({"schemas": [USER], "userName": "x" * 151}, "invalidValue"),
        ({"schemas": [USER], "userName": "x", "active": "maybe"}, "invalidValue"),
        ({"schemas": [USER], "userName": "x", "emails": "not-a-list"}, "invalidValue"),
        ({"schemas": [USER], "userName": "x", "unknownAttribute": 1}, "invalidValue"),
        (
            {"schemas": [USER, ENTERPRISE], "userName": "x", ENTERPRISE: {"manager": "nobody"}},
            "invalidValue",
        ),
        (
            {"schemas": [USER, ENTERPRISE], "userName": "x", ENTERPRISE: {"manager": "99999"}},
            "invalidValue",
        ),
    ],
)
def test_malformed_or_wrong_bodies_are_scim_400s_and_change_nothing(scim, body, scim_type):
    events = AuditEvent.objects.count()

    _error(scim.post("/Users", body), 400, scim_type)

    assert not User.objects.exists()
    assert not ScimUserProfile.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_body_over_the_limit_is_a_413_and_changes_nothing(scim, settings):
    settings.EIM_SCIM_MAX_BODY_BYTES = 1000

    response = scim.post("/Users", user_body("big@example.com", displayName="x" * 2000))

    _error(response, 413)
    assert not User.objects.exists()


def test_other_extension_schemas_idps_send_are_accepted_and_left_aside(scim: ScimClient):
    body = user_body(
        "ada@example.com",
        phoneNumbers=[{"value": "+44 20 7946 0000", "type": "work"}],
        title="Analyst",
    )
    body["schemas"].append("urn:okta:custom:user:1.0")
    body["urn:okta:custom:user:1.0"] = {"costCenter": "42"}

    response = scim.post("/Users", body)

    assert response.status_code == 201, response.content


def test_put_replaces_and_clears_what_is_left_out(scim: ScimClient):
    created = _create(scim, "ada@example.com", displayName="Ada", name={"givenName": "Ada"})

    response = scim.put(
        f"/Users/{created['id']}", {"schemas": [USER], "userName": "ada.l@example.com"}
    )

    body = response.json()
    assert response.status_code == 200, body
    assert body["userName"] == "ada.l@example.com"
    assert "displayName" not in body
    assert "name" not in body
    assert body["active"] is True
    assert body["meta"]["version"] != created["meta"]["version"]
    event = AuditEvent.objects.get(event_type="user.profile_updated")
    assert event.details["changed"] == ["display_name", "first_name", "username"]


def test_put_with_a_stale_if_match_is_a_412_and_changes_nothing(scim: ScimClient):
    created = _create(scim, "ada@example.com")
    scim.put(f"/Users/{created['id']}", user_body("ada@example.com", displayName="New"))

    response = scim.put(
        f"/Users/{created['id']}",
        user_body("ada@example.com", displayName="Stale"),
        if_match=created["meta"]["version"],
    )

    _error(response, 412)
    assert User.objects.get(pk=created["id"]).display_name == "New"


def test_put_with_the_current_if_match_is_applied(scim: ScimClient):
    created = _create(scim, "ada@example.com")

    response = scim.put(
        f"/Users/{created['id']}",
        user_body("ada@example.com", displayName="Ada"),
        if_match=created["meta"]["version"],
    )

    assert response.status_code == 200


def test_delete_deactivates_and_keeps_the_person(scim: ScimClient):
    created = _create(scim, "ada@example.com")

    response = scim.delete(f"/Users/{created['id']}")

    assert response.status_code == 204
    user = User.objects.get(pk=created["id"])
    assert not user.is_active
    event = AuditEvent.objects.get(event_type="user.deactivated")
    assert event.details["via"] == "scim:unbound"
    assert scim.get(f"/Users/{created['id']}").json()["active"] is False


def test_the_enterprise_extension_is_kept_on_the_profile(scim: ScimClient):
    boss = _create(scim, "boss@example.com", displayName="The Boss")
    body = user_body(
        "ada@example.com",
        **{
            ENTERPRISE: {
                "department": "Rates",
                "employeeNumber": "E-1001",
                "manager": {"value": boss["id"]},
            }
        },
    )
    body["schemas"].append(ENTERPRISE)

    created = scim.post("/Users", body).json()

    profile = ScimUserProfile.objects.get(user_id=created["id"])
    assert (profile.department, profile.employee_number) == ("Rates", "E-1001")
    assert profile.manager_id == int(boss["id"])
    assert created["schemas"] == [USER, ENTERPRISE]
    assert created[ENTERPRISE] == {
        "department": "Rates",
        "employeeNumber": "E-1001",
        "manager": {"value": boss["id"], "displayName": "The Boss"},
    }


def test_unsupported_methods_are_scim_405s(scim: ScimClient):
    _error(scim.put("/Users", user_body("x")), 405)


def test_the_body_of_an_untouched_local_user_stays_as_it_was(scim, alice):
    before = UserFactory._meta.model.objects.filter(pk=alice.pk).values().get()

    scim.put(f"/Users/{alice.pk}", user_body("taken-over"))

    assert User.objects.filter(pk=alice.pk).values().get() == before
