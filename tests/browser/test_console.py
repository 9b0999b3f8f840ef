"""The administrator's console in Chromium at laptop and phone width: found from the chat,
searched with the keyboard, a destructive change confirmed in a dialog and told with its
audit event, the four-eyes queue, a channel, the settings. Screenshots in var/screenshots."""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import IdentityProviderKind, Role
from accounts.services import identities, roles
from audit.models import AuditEvent, AuditEventType
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, Person, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory

pytestmark = [pytest.mark.browser, browser_db]


@pytest.fixture
def office() -> dict[str, Any]:
    ada = UserFactory(username="ada", display_name="Ada Admin", roles=[Role.ADMINISTRATOR])
    dana = UserFactory(username="dana", display_name="Dana Deputy", roles=[Role.ADMINISTRATOR])
    bob = UserFactory(username="bob", display_name="Bob Baker")
    carol = UserFactory(username="carol", display_name="Carol Chen")
    for n in range(12):
        UserFactory(username=f"trader{n:02d}", display_name=f"Trader {n:02d}")
    ChannelFactory(creator=bob, name="trading-desk", members=[carol])
    provider = identities.identity_provider_create(
        actor=ada,
        slug="okta",
        kind=IdentityProviderKind.OIDC,
        name="Okta",
        issuer="https://acme.okta.com",
        config={"client_id": "eim", "client_secret": "never-shown"},
    )
    identities.identity_link(provider=provider, user=bob, subject="00u1bob", via="test")
    roles.role_request(actor=dana, user_id=carol.pk, role=Role.COMPLIANCE_OFFICER, reason="audit")
    return {"ada": ada, "bob": bob, "carol": carol}


def _seq(event_type: AuditEventType) -> int:
    return in_db_thread(lambda: AuditEvent.objects.filter(event_type=event_type).get().seq)


def test_the_console_at_laptop_width(sign_in, office):
    admin: Person = sign_in(office["ada"], LAPTOP)
    page = admin.page

    page.get_by_role("link", name="Console").click()
    expect(page.get_by_role("heading", name="Administrator's console")).to_be_visible()
    expect(page.locator(".tile-attention")).to_contain_text("1")
    page.screenshot(path=SCREENSHOTS / "console-laptop-home.png")

    page.get_by_role("link", name="People", exact=True).click()
    page.wait_for_load_state()
    page.keyboard.press("/")
    expect(page.locator("#people-q")).to_be_focused()
    page.keyboard.type("bob")
    page.keyboard.press("Enter")
    expect(page.locator("#people-table tbody tr")).to_have_count(1)
    page.screenshot(path=SCREENSHOTS / "console-laptop-people.png")

    page.get_by_role("link", name="Bob Baker").click()
    expect(page.get_by_text("https://acme.okta.com")).to_be_visible()
    page.get_by_role("button", name="Deactivate").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Deactivate bob?")
    page.screenshot(path=SCREENSHOTS / "console-laptop-confirm.png")
    page.keyboard.press("Escape")  # cancelled: nothing happens
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Deactivate").click()
    dialog.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".flash-success")).to_contain_text("bob is deactivated — audit event #")
    seq = _seq(AuditEventType.USER_DEACTIVATED)
    expect(page.locator(".flash-success")).to_have_text(f"bob is deactivated — audit event #{seq}.")
    expect(page.locator("h1 .status-off")).to_have_text("Deactivated")
    page.screenshot(path=SCREENSHOTS / "console-laptop-person.png", full_page=True)

    page.get_by_role("link", name=re.compile("Role requests")).click()
    expect(page.locator(".queue-item")).to_contain_text("Carol Chen")
    page.screenshot(path=SCREENSHOTS / "console-laptop-roles.png")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-success")).to_contain_text("approved: the role is in effect")
    expect(page.get_by_text("Nothing waiting")).to_be_visible()

    page.get_by_role("link", name="Channels").click()
    page.get_by_role("link", name="#trading-desk").click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "console-laptop-channel.png", full_page=True)

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Longest message (characters)").fill("lots")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-error")).to_contain_text("Nothing changed")
    page.screenshot(path=SCREENSHOTS / "console-laptop-settings.png", full_page=True)


def test_the_console_at_phone_width(sign_in, office):
    admin: Person = sign_in(office["ada"], PHONE)
    page = admin.page

    page.goto("/console/people/")
    expect(page.locator("#people-table tbody tr").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "console-phone-people.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("link", name="Bob Baker").click()
    page.get_by_role("button", name="Sign out everywhere").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Sign out everywhere").click()
    expect(page.locator(".flash-success")).to_contain_text("signed out everywhere")
    seq = _seq(AuditEventType.USER_SIGNED_OUT_EVERYWHERE)
    expect(page.locator(".flash-success")).to_contain_text(f"audit event #{seq}")
    page.screenshot(path=SCREENSHOTS / "console-phone-person.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto("/console/roles/")
    page.screenshot(path=SCREENSHOTS / "console-phone-roles.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_an_employee_meets_the_consoles_403_page(sign_in, office):
    employee: Person = sign_in(office["bob"], LAPTOP)

    expect(employee.page.locator("#console-link")).to_have_count(0)
    employee.page.goto("/console/")

    expect(
        employee.page.get_by_role("heading", name="The console is for administrators")
    ).to_be_visible()
    employee.page.screenshot(path=SCREENSHOTS / "console-laptop-forbidden.png")
