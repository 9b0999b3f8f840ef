"""The console's information-barrier page in Chromium at laptop and phone width: a draft made
with the segment pickers' search and the keyboard, its preview listing what crosses it, the
decision confirmed in a dialog and told with its audit event, then deactivation.
Screenshots in var/screenshots."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from audit.models import AuditEvent, AuditEventType
from eim.chat.models import Conversation, Membership
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, browser_db, in_db_thread
from tests.chat.barriers.conftest import segment
from tests.factories import ChannelFactory, UserFactory, direct_conversation

pytestmark = [pytest.mark.browser, browser_db]


def _told(page, text: str, event_type: AuditEventType) -> None:  # type: ignore[no-untyped-def]
    """The page says what changed and names the audit event that recorded it."""
    expect(page.locator(".flash-success")).to_contain_text(f"{text} — audit event #")
    seq = in_db_thread(lambda: AuditEvent.objects.filter(event_type=event_type).get().seq)
    expect(page.locator(".flash-success")).to_have_text(f"{text} — audit event #{seq}.")


@pytest.mark.parametrize(("viewport", "width"), [(LAPTOP, "laptop"), (PHONE, "phone")])
def test_a_barrier_drafted_previewed_decided_and_deactivated(sign_in, viewport, width):
    ada = UserFactory(username="ada", display_name="Ada Admin", roles=[Role.ADMINISTRATOR])
    rita, ruth = UserFactory(username="rita"), UserFactory(username="ruth")
    tom = UserFactory(username="tom")
    segment("Research", rita, ruth)
    segment("Trading", tom)
    for name in ("Advisory", "Sales", "Operations"):
        segment(name)
    dm = direct_conversation(rita, tom)
    desk = ChannelFactory(creator=ruth, name="morning-call", members=[tom])

    admin = sign_in(ada, viewport)
    page = admin.page
    page.goto("/console/")
    page.get_by_role("link", name="Information barriers").click()
    expect(page.get_by_text("No information barriers")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / f"console-{width}-barriers-empty.png", full_page=True)

    page.get_by_label("Name").fill("MNPI wall")
    page.get_by_label("Segment A: find a group").fill("resea")
    expect(page.locator("#new-a option:not([hidden])")).to_have_count(1)
    page.keyboard.press("ArrowDown")  # to the narrowed list, its one match chosen
    expect(page.locator("#new-a")).to_be_focused()
    page.get_by_label("Segment B: find a group").fill("trad")
    page.get_by_label("Segment B: find a group").press("Enter")  # to the list, not a submit
    expect(page.locator("#new-b")).to_be_focused()
    page.get_by_label("Segment B: find a group").fill("zzz")
    expect(page.locator("#new-b-none")).to_be_visible()
    page.get_by_label("Segment B: find a group").fill("trad")
    page.screenshot(path=SCREENSHOTS / f"console-{width}-barriers-draft.png", full_page=True)
    page.get_by_role("button", name="Save the draft").click()
    _told(
        page,
        "Draft policy MNPI wall saved; preview it before it takes effect",
        AuditEventType.BARRIER_PROPOSED,
    )
    expect(page.get_by_text("draft, not previewed")).to_be_visible()

    page.get_by_role("button", name="Preview what it affects").click()
    expect(page.get_by_role("heading", name="Preview of MNPI wall, version 1")).to_be_visible()
    expect(page.locator("#violations-table tbody tr")).to_have_count(2)
    expect(page.locator("#violations-table")).to_contain_text("#morning-call")
    page.get_by_label("Remove the members of Trading from them").check()
    page.screenshot(path=SCREENSHOTS / f"console-{width}-barriers-preview.png", full_page=True)

    page.get_by_role("button", name="Activate").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Put MNPI wall in force?")
    page.keyboard.press("Escape")  # cancelled: nothing happens
    expect(dialog).to_be_hidden()
    assert not in_db_thread(lambda: Conversation.objects.filter(barrier_restricted=True).exists())
    page.get_by_role("button", name="Activate").click()
    dialog.get_by_role("button", name="Activate").click()
    _told(page, "MNPI wall is in force", AuditEventType.BARRIER_ACTIVATED)
    page.screenshot(path=SCREENSHOTS / f"console-{width}-barriers-in-force.png", full_page=True)
    assert in_db_thread(lambda: Conversation.objects.get(pk=dm.pk).barrier_restricted)
    members = in_db_thread(
        lambda: set(Membership.objects.filter(conversation=desk).values_list("user_id", flat=True))
    )
    assert members == {ruth.pk}

    page.get_by_role("button", name="Deactivate").click()
    dialog.get_by_role("button", name="Deactivate").click()
    _told(page, "MNPI wall is deactivated", AuditEventType.BARRIER_REMOVED)
    assert not in_db_thread(lambda: Conversation.objects.get(pk=dm.pk).barrier_restricted)
