"""The phone-width layout, and screenshots of the laptop and phone layouts."""

import os
import shutil

import pytest
from playwright.sync_api import expect

from eim.chat.models import Message
from eim.chat.services.messages import reaction_add
from tests.browser.conftest import PHONE, SCREENSHOTS, browser_db, in_db_thread, png
from tests.conftest import ROOT
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

pytestmark = [pytest.mark.browser, browser_db]


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_at_phone_width_the_sidebar_is_behind_the_menu_and_messages_can_be_sent(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="alpha")
    ChannelFactory(creator=alice, members=[bob], name="mobile")
    a = sign_in(alice, viewport=PHONE)
    b = sign_in(bob)
    b.open("mobile")
    sidebar = a.page.get_by_role("navigation", name="Conversations")
    menu = a.page.get_by_role("button", name="Open the conversation list")
    expect(sidebar).not_to_be_in_viewport()

    menu.click()
    expect(sidebar).to_be_in_viewport()
    expect(menu).to_have_attribute("aria-expanded", "true")
    sidebar.get_by_role("link", name="mobile").click()

    expect(sidebar).not_to_be_in_viewport()
    expect(a.page.locator("#conversation-title")).to_have_text("#mobile")
    a.send("Sent from my phone")
    expect(b.message("Sent from my phone")).to_be_visible()
    assert no_sideways_scroll(a.page)

    b.send("Reply in a thread please")
    message = a.message("Reply in a thread please")
    message.click()
    message.get_by_role("button", name="Reply in thread").click()
    thread = a.page.locator("#thread-panel")
    expect(thread).to_be_visible()
    assert thread.bounding_box() == {
        "x": 0,
        "y": 0,
        "width": PHONE["width"],
        "height": PHONE["height"],
    }
    a.page.get_by_role("textbox", name="Reply in thread").fill("On it")
    a.page.get_by_role("textbox", name="Reply in thread").press("Enter")
    expect(
        b.message("Reply in a thread please").get_by_role("button", name="1 reply")
    ).to_be_visible()
    a.page.get_by_role("button", name="Close the thread").click()
    expect(thread).to_be_hidden()


def test_screenshots_of_the_laptop_and_phone_layouts(sign_in):
    """Writes var/screenshots/; EIM_UPDATE_DOCS_SCREENSHOT=1 also refreshes docs/screenshot.png."""
    alice = UserFactory(username="alice", display_name="Alice Archer")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    dana = UserFactory(username="dana", display_name="Dana Diaz")
    erik = UserFactory(username="erik", display_name="Erik Ng")
    desk = ChannelFactory(creator=alice, members=[bob, dana, erik], name="fx-desk")
    desk.topic = "EUR/USD and G10 flow · calls are recorded"
    desk.save(update_fields=["topic"])
    ChannelFactory(creator=bob, members=[alice], name="general")
    ChannelFactory(creator=dana, members=[alice], name="risk-committee", private=True)
    note = send(bob, desk, "Morning all. **ECB** at 13:45, expect a quiet book until then.")
    send(dana, desk, "Thanks @bob. Client flow is light:\n- 3 tickets in EUR/USD\n- 1 in GBP/CHF")
    question = send(alice, desk, "Can someone check the `EURUSD` fixing against the feed?")
    send(erik, desk, "On it", parent_id=question.pk)
    send(bob, desk, "Matches to the 4th decimal", parent_id=question.pk)
    reaction_add(user=dana, message_id=note.pk, emoji="👍")
    reaction_add(user=erik, message_id=note.pk, emoji="👍")
    reaction_add(user=alice, message_id=question.pk, emoji="✅")
    send(erik, desk, "Desk chart for the morning call, see attached.")
    send(bob, direct_conversation(bob, alice), "Lunch at 12:30?")
    send(dana, direct_conversation(dana, alice), "Risk pack is ready for review.")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    a = sign_in(alice)
    sign_in(bob)
    a.open("fx-desk")
    a.page.locator("#composer input[type=file]").set_input_files(
        {"name": "morning-chart.png", "mimeType": "image/png", "buffer": png(240, 120)}
    )
    expect(a.page.locator("#composer .upload.done")).to_have_count(1)
    a.page.locator("#composer-input").fill("Chart from the overnight session")
    a.page.locator("#composer-input").press("Enter")
    expect(a.message("Chart from the overnight session").locator("img")).to_be_visible()
    a.page.locator("#composer-input").fill("I'll share the recap after the call.")
    expect(a.page.locator("#dm-list .presence-dot[data-status=online]")).to_have_count(1)
    a.page.mouse.move(0, 0)
    laptop = SCREENSHOTS / "laptop-conversation.png"
    a.page.screenshot(path=laptop)
    a.message("Can someone check").get_by_role("button", name="2 replies").click()
    expect(a.message("Matches to the 4th decimal", where="#thread-list")).to_be_visible()
    a.page.screenshot(path=SCREENSHOTS / "laptop-thread.png")
    assert in_db_thread(Message.objects.filter(parent_id=question.pk).count) == 2

    phone = sign_in(alice, viewport=PHONE)
    phone.page.get_by_role("button", name="Open the conversation list").click()
    phone.page.get_by_role("navigation").get_by_role("link", name="fx-desk").click()
    expect(phone.message("Chart from the overnight session").locator("img")).to_be_in_viewport()
    phone.page.mouse.move(180, 720)
    phone.page.screenshot(path=SCREENSHOTS / "phone-conversation.png")
    assert no_sideways_scroll(phone.page)
    phone.page.get_by_role("button", name="Open the conversation list").click()
    expect(phone.page.get_by_role("navigation")).to_be_in_viewport()
    phone.page.screenshot(path=SCREENSHOTS / "phone-sidebar.png")
    phone.page.keyboard.press("Escape")
    phone.message("Can someone check").get_by_role("button", name="2 replies").click()
    expect(phone.message("On it", where="#thread-list")).to_be_visible()
    phone.page.screenshot(path=SCREENSHOTS / "phone-thread.png")

    if os.environ.get("EIM_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(laptop, ROOT / "docs" / "screenshot.png")
