"""People in the console: search, filters and keyset paging; a person's page; the changes an
administrator makes there, each told with its audit event; nothing of what people wrote."""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import Role, RoleGrant, RoleRequest, User
from accounts.services.users import user_seen
from audit.models import AuditEvent, AuditEventType
from console.selectors.people import PeopleFilter, people_search
from eim.chat.models import PresenceSession
from tests.conftest import api_as
from tests.factories import UserFactory, send

from .conftest import World, console_state, signed_in

pytestmark = pytest.mark.django_db


def _usernames(**filters) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.username for p in people_search(filters=PeopleFilter(**filters)).people]


def _flashes(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def test_filters_narrow_the_list(world: World):
    user_seen(user=world.bob, at=timezone.now() - timedelta(days=2))  # e.g. an API token
    UserFactory(username="zed", is_active=False)

    assert _usernames(q="bo") == ["bob"]
    assert _usernames(role=Role.ADMINISTRATOR) == ["ada", "dana"]
    assert _usernames(group=world.group.pk) == ["bob"]
    assert _usernames(active="no") == ["zed"]
    assert _usernames(provider=world.provider.pk) == ["bob"]
    assert "bob" not in _usernames(provider=0)
    assert _usernames(seen="7d") == ["bob"]
    assert "bob" not in _usernames(seen="never")
    assert _usernames(q="a", role=Role.ADMINISTRATOR, active="yes") == ["ada", "dana"]


def test_a_search_is_a_substring_never_a_pattern(world: World):
    UserFactory(username="under_score", display_name="100% sure")

    assert _usernames(q="_") == ["under_score"]
    assert _usernames(q="%") == ["under_score"]
    assert _usernames(q="D_R") == []  # "DER" matches the pattern, not the text
    assert _usernames(q="OKAFOR") == []
    assert _usernames(q="ADA") == ["ada"]


def test_keyset_pages_cover_everyone_once(world: World):
    for n in range(7):
        UserFactory(username=f"p{n:02d}")
    everyone = sorted(User.objects.values_list("username", flat=True))
    seen, after = [], ""

    while True:
        page = people_search(filters=PeopleFilter(after=after), limit=3)
        seen += [p.username for p in page.people]
        if page.next_after is None:
            break
        after = page.next_after

    assert seen == everyone


def test_the_api_pages_with_next_after(world: World):
    client = api_as(world.ada)

    first = client.get("/api/v1/admin/people/", {"limit": 2}).json()
    second = client.get("/api/v1/admin/people/", {"limit": 2, "after": first["next_after"]}).json()

    assert [p["username"] for p in first["results"]] == ["ada", "alice"]
    assert [p["username"] for p in second["results"]] == ["bob", "carol"]
    assert second["results"][0]["providers"] == ["okta"]
    assert second["results"][0]["roles"] == ["employee"]


def test_bad_filters_are_refused_by_the_api_and_ignored_by_the_page(world: World):
    response = api_as(world.ada).get("/api/v1/admin/people/", {"role": "king", "limit": 0})
    page = signed_in(world.ada).get("/console/people/", {"role": "king", "group": "x"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert page.status_code == 200


def test_a_persons_page_shows_identities_groups_tokens_and_connections(world: World):
    PresenceSession.objects.create(
        user=world.bob, channel_name="specific.abc!def123", last_seen=timezone.now()
    )
    send(world.bob, world.channel, "the secret merger is on")

    response = signed_in(world.ada).get(f"/console/people/{world.bob.pk}/")

    body = response.content.decode()
    assert "https://okta.example" in body
    assert "00u-bob" in body
    assert "Research" in body
    assert world.token_key in body
    assert "def123" in body  # the open socket
    assert 'MFA: <span class="status status-off">Off</span>' in body
    assert "not required by their roles" in body
    assert "secret merger" not in body
    assert "s3cr3t-value" not in body


def test_a_persons_mfa_state_shows_kinds_and_requirement_never_secrets(world: World):
    seed = "JBSWY3DPEHPK3PXP"
    TOTP.activate(world.dana, seed)
    Authenticator.objects.create(
        user=world.dana, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "rc-s3cr3t"}
    )

    page = signed_in(world.ada).get(f"/console/people/{world.dana.pk}/").content.decode()
    bob_page = signed_in(world.ada).get(f"/console/people/{world.bob.pk}/").content.decode()
    shown = api_as(world.ada).get(f"/api/v1/admin/people/{world.dana.pk}/").json()["mfa"]
    bob = api_as(world.ada).get(f"/api/v1/admin/people/{world.bob.pk}/").json()["mfa"]

    assert "authenticator app" in page
    assert "recovery codes" in page
    assert "required by their role" in page
    assert seed not in page
    assert "rc-s3cr3t" not in page
    assert "not required by their roles" in bob_page
    assert shown == {
        "enabled": True,
        "required_by_role": True,
        "totp": True,
        "webauthn_keys": 0,
        "recovery_codes": True,
    }
    assert bob == {
        "enabled": False,
        "required_by_role": False,
        "totp": False,
        "webauthn_keys": 0,
        "recovery_codes": False,
    }


def test_open_web_sessions_are_listed_until_signed_out_everywhere(world: World):
    browser = Client()
    signed = browser.post("/login/", {"username": "bob", "password": "pw-for-tests-1"})
    assert signed.status_code == 302
    admin = signed_in(world.ada)

    listed = admin.get(f"/console/people/{world.bob.pk}/").context["o"].sessions
    admin.post(f"/console/people/{world.bob.pk}/sign-out/", {"confirm": "yes"})
    after = admin.get(f"/console/people/{world.bob.pk}/").context["o"].sessions

    assert len(listed) == 1
    assert after == []
    assert browser.get("/").status_code == 302  # the session really ended


def test_deactivation_asks_first_then_tells_its_audit_event(world: World):
    admin = signed_in(world.ada)
    admin.get("/console/")  # the session's console entry is recorded once, here
    before = console_state()

    asked = admin.post(f"/console/people/{world.bob.pk}/deactivate/")
    assert console_state() == before
    assert b"Deactivate bob?" in asked.content

    done = admin.post(
        f"/console/people/{world.bob.pk}/deactivate/", {"confirm": "yes"}, follow=True
    )

    event = AuditEvent.objects.get(event_type=AuditEventType.USER_DEACTIVATED)
    assert _flashes(done) == [f"bob is deactivated — audit event #{event.seq}."]
    assert not User.objects.get(pk=world.bob.pk).is_active
    assert not AuthToken.objects.filter(user=world.bob).exists()


def test_the_api_answers_a_change_with_its_audit_events(world: World):
    client = api_as(world.ada)

    done = client.post(f"/api/v1/admin/people/{world.bob.pk}/deactivate/").json()
    again = client.post(f"/api/v1/admin/people/{world.bob.pk}/deactivate/").json()
    back = client.post(f"/api/v1/admin/people/{world.bob.pk}/reactivate/").json()

    seqs = dict(
        AuditEvent.objects.filter(event_type__startswith="user.").values_list("event_type", "seq")
    )
    assert done == {"audit_events": [seqs["user.deactivated"]], "result": None}
    assert again == {"audit_events": [], "result": None}  # nothing needed changing
    assert back["audit_events"] == [seqs["user.reactivated"]]


def test_a_token_is_revoked_by_its_key(world: World):
    response = api_as(world.ada).delete(
        f"/api/v1/admin/people/{world.bob.pk}/tokens/{world.token_key}/"
    )

    assert response.status_code == 200
    assert not AuthToken.objects.filter(user=world.bob).exists()
    revoked = AuditEvent.objects.get(event_type=AuditEventType.API_TOKEN_REVOKED)
    assert response.json()["audit_events"] == [revoked.seq]


def test_a_refused_role_change_names_its_recorded_attempt(world: World):
    admin = signed_in(world.ada)
    before = RoleGrant.objects.count(), RoleRequest.objects.count()

    response = admin.post(
        f"/console/people/{world.ada.pk}/roles/request/", {"role": "auditor"}, follow=True
    )

    refusal = AuditEvent.objects.get(event_type=AuditEventType.ROLE_REFUSED)
    assert _flashes(response) == [
        f"Refused: nobody changes their own roles (the attempt is recorded: "
        f"audit event #{refusal.seq})"
    ]
    assert (RoleGrant.objects.count(), RoleRequest.objects.count()) == before


def test_four_eyes_through_the_queue(world: World):
    ada, dana = signed_in(world.ada), signed_in(world.dana)

    ada.post(f"/console/people/{world.bob.pk}/roles/request/", {"role": "compliance_officer"})
    request = RoleRequest.objects.get(user=world.bob, role="compliance_officer")
    queue = ada.get("/console/roles/").content.decode()
    own = ada.post(f"/console/roles/{request.pk}/approve/", follow=True)
    approved = dana.post(f"/console/roles/{request.pk}/approve/", follow=True)

    assert f'id="request-{request.pk}"' in queue
    assert "You asked: another administrator approves." in queue
    assert _flashes(own)[0].startswith("Refused: a second administrator must approve")
    approval = AuditEvent.objects.get(event_type=AuditEventType.ROLE_APPROVED)
    assert _flashes(approved) == [
        f"Role request {request.pk} approved: the role is in effect — audit event #{approval.seq}."
    ]
    assert RoleGrant.objects.filter(user=world.bob, role="compliance_officer").exists()


def test_the_queue_is_empty_with_a_hint(world: World):
    signed_in(world.dana).post(f"/console/roles/{world.pending.pk}/refuse/", {"confirm": "yes"})

    body = signed_in(world.ada).get("/console/roles/").content.decode()

    assert "Nothing waiting" in body


def test_the_console_entry_is_audited_once_a_session(world: World):
    admin = signed_in(world.ada)

    admin.get("/console/")
    admin.get("/console/people/")

    entries = AuditEvent.objects.filter(event_type=AuditEventType.CONSOLE_ENTERED)
    assert list(entries.values_list("actor_id", flat=True)) == [world.ada.pk]


def test_administrators_find_the_console_from_the_chat(world: World):
    assert b'id="console-link"' in signed_in(world.ada).get("/").content
    assert b'id="console-link"' not in signed_in(world.bob).get("/").content


def test_the_compliance_workspace_sends_an_administrator_to_the_console(world: World):
    response = signed_in(world.ada).get("/compliance/")

    assert response.status_code == 403
    assert b'href="/console/"' in response.content
    assert b"Administrators do not read the archive" in response.content
