"""Reading a conversation: days, times, where unread messages start, badges, touch actions."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from eim.chat.models import Message
from eim.chat.services.conversations import conversation_create_channel
from tests.browser.conftest import PHONE, SCREENSHOTS, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

pytestmark = [pytest.mark.browser, browser_db]


def backdate(message: Message, days: int, hour: int = 9, minute: int = 5) -> None:
    when = timezone.localtime() - datetime.timedelta(days=days)
    when = when.replace(hour=hour, minute=minute, second=0, microsecond=0)
    Message.objects.filter(pk=message.pk).update(created_at=when)


def test_days_are_separated_and_times_have_no_leading_zero(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    backdate(send(bob, desk, "from long ago"), days=400)
    backdate(send(bob, desk, "from yesterday"), days=1)
    send(bob, desk, "from today, first")
    send(bob, desk, "from today, second")
    a = sign_in(alice)
    a.open("desk")

    separators = a.page.locator("#message-list .day-separator")
    expect(separators).to_have_count(3)
    expect(separators.nth(1)).to_have_text("Yesterday")
    expect(separators.nth(2)).to_have_text("Today")
    old = a.message("from long ago").locator(".message-meta time")
    expect(old).to_have_text("9:05 AM")
    assert str(timezone.localtime().year - 1) in separators.nth(0).inner_text()
    # The full date and time on hover, also for a continued message's time in the gutter.
    assert "at" in (old.get_attribute("title") or "")
    second = a.message("from today, second")
    expect(second).to_have_class(re.compile(r"\bcontinued\b"))
    second.hover()
    expect(second.locator(".gutter-time")).to_be_visible()


def test_opening_a_conversation_lands_at_the_first_unread_with_a_line_and_a_bar(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    ChannelFactory(creator=alice, name="aaa-first")
    for n in range(40):
        send(alice if n % 7 == 0 else bob, desk, f"already read {n}")
    a = sign_in(alice)
    a.open("desk")
    a.page.locator("#unread-bar").get_by_role("button", name="Mark as read").click()
    a.open("aaa-first")
    in_db_thread(lambda: [send(bob, desk, f"unread number {n}") for n in range(30)])
    badge = a.page.locator("#channel-list a", has_text="desk").locator(".badge")
    expect(badge).to_have_text("30")
    expect(badge).not_to_have_class(re.compile("badge-strong"))

    a.open("desk")

    line = a.page.locator("#message-list .unread-line")
    expect(line).to_have_count(1)
    expect(line).to_have_text("New messages")
    expect(a.message("unread number 0")).to_have_class(re.compile("first-unread"))
    expect(a.message("unread number 0")).to_be_in_viewport()
    expect(a.message("unread number 29")).not_to_be_in_viewport()
    bar = a.page.locator("#unread-bar")
    expect(bar).to_contain_text("30 new messages since")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a.page.screenshot(path=SCREENSHOTS / "unread-laptop.png")

    # Scrolled away above the line, the bar offers the way back.
    a.page.locator("#message-scroll").evaluate("node => { node.scrollTop = 0; }")
    expect(bar.get_by_role("button", name="Jump to first unread")).to_be_visible()
    bar.get_by_role("button", name="Jump to first unread").click()
    expect(a.message("unread number 0")).to_be_in_viewport()

    bar.get_by_role("button", name="Mark as read").click()
    expect(bar).to_be_hidden()
    a.open("aaa-first")
    expect(badge).to_have_count(0)
    stored = in_db_thread(lambda: desk.memberships.get(user=alice).last_read_seq)
    assert stored == in_db_thread(lambda: type(desk).objects.get(pk=desk.pk).last_seq)


def test_mentions_and_direct_messages_get_the_strong_badge_and_99_plus(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    busy = ChannelFactory(creator=alice, members=[bob], name="busy")
    dm = direct_conversation(bob, alice)
    ChannelFactory(creator=alice, name="aaa-first")
    a = sign_in(alice)
    a.open("aaa-first")

    def traffic() -> None:
        send(bob, desk, "plain")
        send(bob, desk, "over to you @alice")
        send(bob, dm, "a direct word")
        for n in range(120):
            send(bob, busy, f"chatter {n}")

    in_db_thread(traffic)
    link = a.page.locator("#sidebar a.conversation-link")
    expect(link.filter(has_text="desk").locator(".badge")).to_have_text("@1")
    expect(link.filter(has_text="desk").locator(".badge")).to_have_class(re.compile("badge-strong"))
    expect(link.filter(has_text="Bob")).to_have_count(1)
    expect(link.filter(has_text="bob").locator(".badge")).to_have_class(re.compile("badge-strong"))
    expect(link.filter(has_text="busy").locator(".badge")).to_have_text("99+")
    a.page.screenshot(path=SCREENSHOTS / "badges-laptop.png")

    a.page.reload()
    a.expect_live()
    expect(link.filter(has_text="desk").locator(".badge")).to_have_text("@1")
    expect(link.filter(has_text="busy").locator(".badge")).to_have_text("99+")


def test_on_a_touch_phone_every_message_has_its_actions(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    send(alice, desk, "first of mine")
    send(alice, desk, "second of mine")
    send(alice, desk, "third of mine")
    a = sign_in(alice, viewport=PHONE, touch=True)
    a.open("desk") if a.page.locator("#conversation-title").inner_text() != "#desk" else None

    third = a.message("third of mine")
    expect(third).to_have_class(re.compile("continued"))
    edit = third.get_by_role("button", name="Edit message")
    expect(edit).not_to_be_visible()
    third.locator(".message-body").tap()
    expect(edit).to_be_visible()
    # One toolbar at a time: tapping another message moves it.
    second = a.message("second of mine")
    second.locator(".message-body").tap()
    expect(second.get_by_role("button", name="Delete message")).to_be_visible()
    expect(edit).not_to_be_visible()
    a.page.screenshot(path=SCREENSHOTS / "touch-phone-actions.png")
    second.get_by_role("button", name="Edit message").tap()
    box = a.page.get_by_role("textbox", name="Edit message")
    box.fill("second, edited on the phone")
    box.press("Enter")
    expect(a.message("second, edited on the phone")).to_be_visible()
    # The menu's unread badge does not cover the menu icon.
    in_db_thread(lambda: send(bob, ChannelFactory(creator=bob, members=[alice], name="x"), "hi"))
    badge = a.page.locator("#menu-badge")
    expect(badge).to_have_text("1")
    icon = a.page.locator("#menu-button svg").bounding_box()
    mark = badge.bounding_box()
    assert icon is not None
    assert mark is not None
    assert mark["x"] >= icon["x"] + icon["width"] - 2


def test_rough_edges_of_the_header_composer_and_channel_name(sign_in):
    alice = UserFactory(username="alice", display_name="Alice Archer")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    in_db_thread(lambda: conversation_create_channel(creator=alice, name="solo"))
    dm = direct_conversation(alice, bob)
    send(bob, dm, "hello Alice")
    a = sign_in(alice)
    a.open("solo")
    expect(a.page.locator("#members-button")).to_have_text("1 member")

    a.open("Bob Baker")
    expect(a.page.locator("#history-status")).to_have_text(
        "This is the very beginning of your conversation with Bob Baker."
    )
    box = a.page.locator("#composer-input")
    box.fill("x" * 10_001)
    expect(a.page.get_by_role("button", name="Send message")).to_be_disabled()
    box.fill("x" * 10_000)
    expect(a.page.get_by_role("button", name="Send message")).to_be_enabled()
    box.fill("")

    a.page.get_by_role("button", name="Create a channel").click()
    name = a.page.get_by_role("textbox", name="Name")
    name.press_sequentially("History Test")
    expect(name).to_have_value("history-test")
    expect(a.page.locator("#create-dialog")).to_contain_text("spaces become hyphens")
    a.page.get_by_role("button", name="Create", exact=True).click()
    expect(a.page.locator("#conversation-title")).to_have_text("#history-test")


@pytest.mark.parametrize("phone", [False, True], ids=["laptop", "phone"])
def test_a_mention_in_a_thread_reply_counts_in_the_mention_badge(sign_in, phone):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    ChannelFactory(creator=alice, name="aaa-first")
    root = send(alice, desk, "the plan")
    a = sign_in(alice, viewport=PHONE, touch=True) if phone else sign_in(alice)
    if phone:
        a.page.get_by_role("button", name="Open the conversation list").tap()
    a.open("aaa-first")
    if phone:
        a.page.get_by_role("button", name="Open the conversation list").tap()
    badge = a.page.locator("#sidebar a.conversation-link", has_text="desk").locator(".badge")

    in_db_thread(send, bob, desk, "a reply for everyone", parent_id=root.pk)
    in_db_thread(send, bob, desk, "@alice can you check this", parent_id=root.pk)

    expect(badge).to_have_text("@1")
    expect(badge).to_have_class(re.compile("badge-strong"))
    a.page.screenshot(
        path=SCREENSHOTS / f"thread-mention-badge-{'phone' if phone else 'laptop'}.png"
    )
    a.page.reload()
    a.expect_live()
    if phone:
        a.page.get_by_role("button", name="Open the conversation list").tap()
    expect(badge).to_have_text("@1")
    a.open("desk")
    expect(badge).to_have_count(0)
