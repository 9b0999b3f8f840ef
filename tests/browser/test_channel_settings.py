"""A channel's purpose, making it private or public, and handing ownership over from the member
list; a last owner who tries to leave is led to the hand-over instead of a refusal."""

import re

import pytest
from playwright.sync_api import expect

from eim.chat.models import Conversation, MemberRole, Membership
from tests.browser.conftest import PHONE, SCREENSHOTS, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory

pytestmark = [pytest.mark.browser, browser_db]


def test_an_owner_sets_the_purpose_and_makes_the_channel_private_then_public(sign_in):
    alice = UserFactory(username="alice", display_name="Alice Archer")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    a, b = sign_in(alice), sign_in(bob)
    a.open("desk")
    b.open("desk")

    a.page.get_by_role("button", name="Channel details and settings").click()
    dialog = a.page.locator("#channel-dialog")  # its name loses the "#" once private
    expect(dialog).to_have_accessible_name("#desk")
    dialog.get_by_role("textbox", name="Purpose").fill("Quotes and fills for the FX desk")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog.get_by_role("status")).to_have_text("Saved.")

    dialog.get_by_role("button", name="Make private").click()
    confirm = a.page.get_by_role("dialog", name="Make #desk private?")
    expect(confirm).to_contain_text("Everyone in it stays")
    confirm.get_by_role("button", name="Make private").click()
    expect(dialog.get_by_role("status")).to_have_text("The channel is private now.")
    expect(dialog.get_by_role("button", name="Make public")).to_be_visible()
    expect(a.page.locator("#conversation-title")).to_have_text("desk")
    # bob's open page follows the change live: the lock, no "#".
    expect(b.page.locator("#conversation-title")).to_have_text("desk")
    expect(b.page.locator("#conversation-title svg")).to_have_count(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a.page.screenshot(path=SCREENSHOTS / "channel-visibility-laptop.png")
    saved = in_db_thread(lambda: Conversation.objects.get(pk=desk.pk))
    assert (saved.kind, saved.purpose) == ("private", "Quotes and fills for the FX desk")
    assert in_db_thread(lambda: Membership.objects.filter(conversation=desk).count()) == 2

    dialog.get_by_role("button", name="Make public").click()
    a.page.get_by_role("dialog", name="Make desk public?").get_by_role(
        "button", name="Make public"
    ).click()
    expect(dialog.get_by_role("status")).to_have_text("The channel is public now.")
    expect(b.page.locator("#conversation-title")).to_have_text("#desk")


def test_a_plain_member_sees_no_visibility_switch(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="desk")
    b = sign_in(bob)
    b.open("desk")
    b.page.get_by_role("button", name="Channel details and settings").click()
    dialog = b.page.get_by_role("dialog", name="#desk")
    expect(dialog.get_by_role("textbox", name="Purpose")).to_be_disabled()
    expect(dialog.get_by_role("button", name="Make private")).to_be_hidden()
    dialog.get_by_role("tab", name="Members").click()
    expect(dialog.get_by_role("button", name=re.compile("Make .* the owner"))).to_have_count(0)


def test_the_last_owner_is_led_to_hand_over_then_leaves_on_a_phone(sign_in):
    alice = UserFactory(username="alice", display_name="Alice Archer")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    ChannelFactory(creator=alice, name="general")
    a = sign_in(alice, viewport=PHONE, touch=True)
    b = sign_in(bob)
    a.page.get_by_role("button", name="Open the conversation list").tap()
    a.open("desk")
    b.open("desk")

    a.page.get_by_role("button", name="Channel details and settings").tap()
    dialog = a.page.get_by_role("dialog", name="#desk")
    dialog.get_by_role("button", name="Leave").tap()
    expect(dialog.get_by_role("status")).to_contain_text("You are the channel's only owner")
    expect(dialog.get_by_role("tab", name="Members")).to_have_attribute("aria-selected", "true")
    expect(dialog.get_by_role("alert")).to_be_hidden()
    make_owner = dialog.get_by_role("button", name="Make Bob Baker the owner")
    expect(make_owner).to_be_focused()
    a.page.screenshot(path=SCREENSHOTS / "channel-hand-over-phone.png")
    assert a.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    make_owner.tap()
    confirm = a.page.get_by_role("dialog", name="Make Bob Baker the owner?")
    confirm.get_by_role("button", name="Make owner").tap()
    expect(dialog.get_by_role("status")).to_have_text(
        "Bob Baker is the owner now; you are a member."
    )
    expect(dialog.locator("#member-list li", has_text="Bob Baker")).to_contain_text("Owner")
    expect(dialog.get_by_role("button", name=re.compile("Make .* the owner"))).to_have_count(0)
    # bob's settings open for him live: he owns the channel now.
    b.page.get_by_role("button", name="Channel details and settings").click()
    expect(
        b.page.get_by_role("dialog", name="#desk").get_by_role("textbox", name=re.compile("^Name"))
    ).to_be_enabled()

    dialog.get_by_role("tab", name="About").tap()
    dialog.get_by_role("button", name="Leave").tap()
    a.page.get_by_role("dialog", name="Leave #desk?").get_by_role("button", name="Leave").tap()
    expect(a.page.locator("#sidebar a.conversation-link", has_text="desk")).to_have_count(0)
    assert in_db_thread(
        lambda: list(Membership.objects.filter(conversation=desk).values_list("user", "role"))
    ) == [(bob.pk, MemberRole.OWNER)]
