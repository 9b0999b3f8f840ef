"""Writing: @mention autocomplete, #channel links, plain URLs as safe links."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, SCREENSHOTS, browser_db
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.browser, browser_db]


def test_mention_autocomplete_offers_members_first_then_the_directory(sign_in):
    alice = UserFactory(username="alice", display_name="Alice Archer")
    UserFactory(username="bobby", display_name="Bobby Outsider")
    UserFactory(username="bob", display_name="Bob Baker")
    bob = UserFactory(username="boris", display_name="Boris Member")
    ChannelFactory(creator=alice, members=[bob], name="desk")
    a = sign_in(alice)
    a.open("desk")
    expect(a.page.locator("#members-button")).to_have_text("2 members")
    box = a.page.locator("#composer-input")
    box.press_sequentially("thanks @bo")

    options = a.page.get_by_role("listbox").get_by_role("option")
    expect(options.first).to_contain_text("Boris Member")
    expect(options).to_have_count(3)
    expect(options.nth(1)).to_contain_text("not in this conversation")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a.page.screenshot(path=SCREENSHOTS / "mention-autocomplete-laptop.png")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")
    box.press("Enter")
    expect(box).to_have_value("thanks @boris ")
    expect(a.page.get_by_role("listbox")).to_be_hidden()
    box.press_sequentially("for the note")
    box.press("Enter")
    expect(a.message("thanks @boris for the note").locator(".mention")).to_have_text("@boris")


def test_channel_references_and_plain_urls_become_links(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    ChannelFactory(creator=alice, members=[bob], name="fx-rates")
    send(bob, desk, "see #fx-rates and https://example.com/report?q=1 or #unknown, `#fx-rates`")
    a = sign_in(alice, viewport=PHONE, touch=True)
    a.page.get_by_role("button", name="Open the conversation list").tap()
    a.page.locator("#sidebar a.conversation-link", has_text="desk").tap()
    message = a.message("see #fx-rates")

    url = message.get_by_role("link", name="https://example.com/report?q=1")
    expect(url).to_have_attribute("href", "https://example.com/report?q=1")
    expect(url).to_have_attribute("target", "_blank")
    expect(url).to_have_attribute("rel", re.compile("noopener noreferrer"))
    expect(message.get_by_role("link", name="#unknown")).to_have_count(0)
    expect(message.locator("code")).to_have_text("#fx-rates")

    # Typing "#" offers channels too.
    box = a.page.locator("#composer-input")
    box.press_sequentially("over in #fx")
    expect(a.page.get_by_role("option")).to_have_text(re.compile("fx-rates"))
    a.page.screenshot(path=SCREENSHOTS / "links-phone.png")
    box.press("Tab")
    expect(box).to_have_value("over in #fx-rates ")

    message.get_by_role("link", name="#fx-rates").tap()
    expect(a.page.locator("#conversation-title")).to_have_text("#fx-rates")
