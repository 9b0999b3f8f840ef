"""The emoji picker: search by name, recent emoji, the message box, and the bundled font."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, SCREENSHOTS, browser_db
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.browser, browser_db]


def test_react_with_any_emoji_found_by_name_and_find_it_again_under_recent(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    send(bob, desk, "rocket launch at noon")
    a = sign_in(alice)
    a.open("desk")
    message = a.message("rocket launch at noon")
    message.hover()
    message.get_by_role("button", name="Add a reaction").click()
    picker = a.page.get_by_role("dialog", name="Add a reaction")
    picker.get_by_role("searchbox", name="Search emoji by name").fill("rock")
    expect(picker.get_by_role("button", name="React with rocket")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a.page.screenshot(path=SCREENSHOTS / "emoji-search-laptop.png")
    a.page.keyboard.press("Enter")
    expect(message.get_by_role("button", name="🚀 1: alice. Remove your reaction")).to_be_visible()

    message.hover()
    message.get_by_role("button", name="Add a reaction").click()
    recent = picker.get_by_role("group", name="Recent")
    expect(recent.get_by_role("button").first).to_have_attribute("data-emoji", "🚀")
    a.page.screenshot(path=SCREENSHOTS / "emoji-picker-laptop.png")
    picker.get_by_role("searchbox").fill("zzzz")
    expect(picker).to_contain_text("No emoji by that name.")
    a.page.keyboard.press("Escape")
    expect(picker).to_be_hidden()

    # The colour font is served from the site itself (the CSP allows only 'self').
    loaded = a.page.evaluate(
        "document.fonts.load('16px eim-emoji', '🚀').then(faces => faces.length)"
    )
    assert loaded == 1


def test_an_emoji_goes_into_the_message_box_on_a_phone(sign_in):
    alice = UserFactory(username="alice")
    ChannelFactory(creator=alice, name="desk")
    a = sign_in(alice, viewport=PHONE, touch=True)
    box = a.page.locator("#composer-input")
    box.fill("ship it ")
    a.page.locator("#composer").get_by_role("button", name="Insert an emoji").tap()
    picker = a.page.get_by_role("dialog", name="Insert an emoji")
    picker.get_by_role("searchbox").fill("party")
    picker.get_by_role("button", name="Insert party popper").tap()
    expect(box).to_have_value("ship it 🎉")
    a.page.screenshot(path=SCREENSHOTS / "emoji-phone.png")
    box.press("Enter")
    expect(a.message("ship it 🎉")).to_be_visible()
    assert a.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
