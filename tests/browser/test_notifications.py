"""Desktop notifications (opt-in) for mentions and direct messages, and muting."""

import re

import pytest
from playwright.sync_api import expect

from eim.chat.selectors import chat_preferences_of
from tests.browser.conftest import PHONE, SCREENSHOTS, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

pytestmark = [pytest.mark.browser, browser_db]

# The browser's Notification, recorded: headless Chromium shows none. Injected by the
# browser itself before the page's scripts (the page's CSP allows no inline script).
RECORD_NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  constructor(title, options) { window.__notes.push({ title, body: options.body }); }
  close() {}
  // The browser remembers a grant for the site; here, for the tab.
  static get permission() { return sessionStorage.getItem("granted") || "default"; }
  static requestPermission() {
    sessionStorage.setItem("granted", "granted");
    return Promise.resolve("granted");
  }
};
"""


def test_notifications_are_opt_in_for_mentions_and_direct_messages_not_muted_ones(sign_in):
    alice = UserFactory(username="alice", display_name="Alice Archer")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    noisy = ChannelFactory(creator=alice, members=[bob], name="noisy")
    quiet = ChannelFactory(creator=alice, members=[bob], name="aaa-quiet")
    dm = direct_conversation(alice, bob)
    a = sign_in(alice)
    a.context.add_init_script(RECORD_NOTIFICATIONS)
    a.page.reload()
    a.expect_live()
    a.open("aaa-quiet")
    notes = lambda: a.page.evaluate("window.__notes")  # noqa: E731

    in_db_thread(lambda: send(bob, desk, "hey @alice, before opting in"))
    expect(a.page.locator("#sidebar a.conversation-link", has_text="desk")).to_contain_text("@1")
    assert notes() == []

    bell = a.page.get_by_role("button", name=re.compile("desktop notifications", re.I))
    bell.click()
    expect(bell).to_have_attribute("aria-pressed", "true")

    a.open("noisy")
    mute = a.page.get_by_role("button", name="Mute this conversation")
    mute.click()
    expect(a.page.get_by_role("button", name=re.compile("Muted"))).to_have_attribute(
        "aria-pressed", "true"
    )
    a.open("aaa-quiet")

    def traffic() -> None:
        send(bob, desk, "plain channel talk")
        send(bob, desk, "@alice please check the fixing")
        send(bob, dm, "a word in private")
        send(bob, noisy, "@alice muted channel mention")
        send(bob, quiet, "@alice in the open conversation, but the tab has focus")

    in_db_thread(traffic)
    expect(a.page.locator("#sidebar a.conversation-link", has_text="Bob")).to_contain_text("1")
    a.page.wait_for_timeout(300)
    assert notes() == [
        {"title": "Bob Baker in #desk", "body": "@alice please check the fixing"},
        {"title": "Bob Baker", "body": "a word in private"},
    ]
    noisy_link = a.page.locator("#sidebar a.conversation-link", has_text="noisy")
    expect(noisy_link).to_have_class(re.compile("muted"))
    expect(noisy_link.locator(".badge")).to_have_text("@1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a.page.screenshot(path=SCREENSHOTS / "notifications-laptop.png")

    # Choices survive a reload: the account's, kept by the server.
    a.page.reload()
    a.expect_live()
    expect(bell).to_have_attribute("aria-pressed", "true")
    expect(noisy_link).to_have_class(re.compile("muted"))
    assert in_db_thread(lambda: chat_preferences_of(user=alice)) == {
        "notifications": True,
        "muted": [noisy.pk],
    }


def test_mute_on_a_phone_follows_the_account_to_its_other_browser(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    ChannelFactory(creator=alice, members=[bob], name="aaa-first")
    phone = sign_in(alice, viewport=PHONE, touch=True)
    laptop = sign_in(alice)
    laptop.open("desk")
    phone.page.get_by_role("button", name="Open the conversation list").tap()
    phone.open("desk")

    phone.page.get_by_role("button", name="Mute this conversation").tap()
    expect(phone.page.get_by_role("button", name=re.compile("Muted"))).to_be_visible()
    phone.page.screenshot(path=SCREENSHOTS / "mute-phone.png")
    assert phone.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The laptop hears it live, with no reload.
    expect(laptop.page.get_by_role("button", name=re.compile("Muted"))).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(laptop.page.locator("#sidebar a.conversation-link", has_text="desk")).to_have_class(
        re.compile("muted")
    )
    assert in_db_thread(lambda: chat_preferences_of(user=alice))["muted"] == [desk.pk]

    laptop.page.get_by_role("button", name=re.compile("Muted")).click()
    expect(phone.page.get_by_role("button", name="Mute this conversation")).to_have_attribute(
        "aria-pressed", "false"
    )


def test_notifications_turned_on_elsewhere_ask_this_browser_to_allow_them(sign_in):
    alice = UserFactory(username="alice")
    ChannelFactory(creator=alice, name="desk")
    first, second = sign_in(alice), sign_in(alice, viewport=PHONE, touch=True)
    for person in (first, second):
        person.context.add_init_script(RECORD_NOTIFICATIONS)
        person.page.reload()
        person.expect_live()

    first.page.get_by_role("button", name=re.compile("desktop notifications", re.I)).click()

    bell = second.page.locator("#notify-button")
    expect(bell).to_have_attribute(
        "aria-label", "Desktop notifications are on for your account: allow them in this browser"
    )
    expect(bell).to_have_attribute("aria-pressed", "false")
    second.page.get_by_role("button", name="Open the conversation list").tap()
    second.page.screenshot(path=SCREENSHOTS / "notifications-allow-here-phone.png")
    bell.tap()
    expect(bell).to_have_attribute("aria-pressed", "true")
