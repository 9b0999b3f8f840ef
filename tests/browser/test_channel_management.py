"""Managing a channel from the chat: members, invitations, removal, rename, topic, archive,
leave, and the invite step of a new private channel."""

import re

import pytest
from playwright.sync_api import expect

from eim.chat.models import Conversation, Membership
from tests.browser.conftest import PHONE, SCREENSHOTS, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory

pytestmark = [pytest.mark.browser, browser_db]


def test_an_owner_manages_members_name_topic_and_archives(sign_in):
    alice = UserFactory(username="alice", display_name="Alice Archer")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    UserFactory(username="carol", display_name="Carol Chen")
    ChannelFactory(creator=alice, members=[bob], name="desk")
    ChannelFactory(creator=alice, name="taken")
    a = sign_in(alice)
    b = sign_in(bob)
    a.open("desk")
    b.open("desk")

    a.page.get_by_role("button", name=re.compile("2 members")).click()
    dialog = a.page.locator("#channel-dialog")
    expect(dialog).to_have_accessible_name("#desk")
    expect(dialog.get_by_role("tab", name="Members")).to_have_attribute("aria-selected", "true")
    members = dialog.locator("#member-list li")
    expect(members).to_have_count(2)
    expect(members.nth(0)).to_contain_text("Alice Archer (you)")
    expect(members.nth(0)).to_contain_text("Owner")

    dialog.get_by_role("searchbox", name="Add people").fill("car")
    dialog.get_by_role("button", name=re.compile("Carol Chen")).click()
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(members).to_have_count(3)
    expect(dialog.get_by_role("status")).to_contain_text("Added Carol Chen")
    expect(a.page.locator("#members-button")).to_have_text("3 members")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a.page.screenshot(path=SCREENSHOTS / "channel-members-laptop.png")

    dialog.get_by_role("button", name="Remove Bob Baker from the channel").click()
    a.page.get_by_role("dialog", name="Remove Bob Baker?").get_by_role(
        "button", name="Remove"
    ).click()
    expect(members).to_have_count(2)
    expect(b.page.locator("#sidebar a.conversation-link", has_text="desk")).to_have_count(0)

    dialog.get_by_role("tab", name="About").click()
    name = dialog.get_by_role("textbox", name=re.compile("^Name"))
    name.fill("")
    name.press_sequentially("Taken")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog.get_by_role("alert")).to_contain_text("another channel has that name")
    assert in_db_thread(lambda: Conversation.objects.filter(name="desk").exists())

    name.fill("")
    name.press_sequentially("FX Desk")
    expect(name).to_have_value("fx-desk")
    dialog.get_by_role("textbox", name="Topic").fill("EUR/USD flow")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog.get_by_role("status")).to_have_text("Saved.")
    expect(dialog).to_have_accessible_name("#fx-desk")
    expect(a.page.locator("#conversation-title")).to_have_text("#fx-desk")
    expect(a.page.locator("#conversation-topic")).to_contain_text("EUR/USD flow")
    a.page.screenshot(path=SCREENSHOTS / "channel-about-laptop.png")

    dialog.get_by_role("button", name="Archive").click()
    a.page.get_by_role("dialog", name="Archive fx-desk?").get_by_role(
        "button", name="Archive"
    ).click()
    expect(dialog.get_by_role("status")).to_contain_text("Archived")
    dialog.get_by_role("button", name="Close").click()
    expect(a.page.locator("#composer-input")).to_be_disabled()
    expect(a.page.locator("#composer-input")).to_have_attribute(
        "placeholder", "This channel is archived and read-only"
    )


def test_a_member_sees_settings_read_only_and_leaves_without_an_error(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    ChannelFactory(creator=alice, members=[bob], name="other")
    b = sign_in(bob)
    b.open("desk")
    b.page.get_by_role("button", name="Channel details and settings").click()
    dialog = b.page.get_by_role("dialog", name="#desk")
    expect(dialog.get_by_role("textbox", name=re.compile("^Name"))).to_be_disabled()
    expect(dialog).to_contain_text("Only the channel's owners can change these.")
    expect(dialog.get_by_role("button", name="Archive")).to_be_hidden()
    dialog.get_by_role("tab", name="Members").click()
    expect(dialog.get_by_role("button", name=re.compile("Remove"))).to_have_count(0)
    dialog.get_by_role("tab", name="About").click()

    dialog.get_by_role("button", name="Leave").click()
    b.page.get_by_role("dialog", name="Leave #desk?").get_by_role("button", name="Leave").click()

    expect(b.page.locator("#sidebar a.conversation-link", has_text="desk")).to_have_count(0)
    expect(b.page.locator("#conversation-title")).to_have_text("#other")
    expect(b.page.locator("#composer .composer-error")).to_be_hidden()
    assert not in_db_thread(lambda: Membership.objects.filter(conversation=desk, user=bob).exists())


def test_a_new_private_channel_starts_with_its_invite_step_on_a_phone(sign_in):
    alice = UserFactory(username="alice", display_name="Alice Archer")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    ChannelFactory(creator=alice, name="general")
    a = sign_in(alice, viewport=PHONE, touch=True)
    b = sign_in(bob)
    a.page.get_by_role("button", name="Open the conversation list").tap()
    a.page.get_by_role("button", name="Create a channel").tap()
    a.page.get_by_role("textbox", name=re.compile("^Name")).fill("Deal Room")
    expect(a.page.get_by_role("textbox", name=re.compile("^Name"))).to_have_value("deal-room")
    a.page.get_by_role("checkbox", name=re.compile("Private")).check()
    a.page.get_by_role("button", name="Create", exact=True).tap()

    dialog = a.page.get_by_role("dialog", name="deal-room")
    expect(dialog.get_by_role("status")).to_contain_text("Invite people to deal-room")
    expect(dialog.get_by_role("searchbox", name="Add people")).to_be_focused()
    dialog.get_by_role("searchbox", name="Add people").fill("bob")
    dialog.get_by_role("button", name=re.compile("Bob Baker")).tap()
    a.page.screenshot(path=SCREENSHOTS / "channel-invite-phone.png")
    dialog.get_by_role("button", name="Add", exact=True).tap()
    expect(dialog.locator("#member-list li")).to_have_count(2)
    expect(b.page.locator("#sidebar a.conversation-link", has_text="deal-room")).to_be_visible()
    assert a.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
