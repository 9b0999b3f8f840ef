"""Signing in and out, and finding people and channels from the sidebar."""

import json
import re

import pytest
from playwright.sync_api import WebSocketRoute, expect

from eim.chat.models import Conversation, ConversationKind, Membership
from tests.browser.conftest import LAPTOP, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.browser, browser_db]


def test_a_wrong_password_gets_a_plain_error_and_signing_out_ends_the_session(
    chromium, daphne_server, sign_in
):
    alice = UserFactory(username="alice")
    page = chromium.browser.new_page(viewport=LAPTOP, base_url=daphne_server.http_url)
    page.goto("/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password. Please try again.")
    expect(page.get_by_label("Username")).to_have_value("alice")
    page.close()

    a = sign_in(alice)
    expect(a.page.locator("#empty-title")).to_have_text("No channels yet")
    expect(a.page.locator("#channels-empty")).to_be_visible()
    a.page.get_by_role("button", name="Sign out").click()
    expect(a.page.get_by_role("heading", name="Sign in")).to_be_visible()
    a.page.goto("/")
    expect(a.page).to_have_url(f"{daphne_server.http_url}/login/?next=/")


def test_browse_and_join_a_channel_then_create_one(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=bob, name="announcements")
    ChannelFactory(creator=bob, name="board-only", private=True)
    a = sign_in(alice)

    a.page.get_by_role("button", name="Browse channels").click()
    dialog = a.page.get_by_role("dialog", name="Browse channels")
    expect(dialog.get_by_text("#announcements")).to_be_visible()
    expect(dialog.get_by_text("board-only")).to_have_count(0)
    dialog.get_by_role("button", name="Join #announcements").click()

    expect(dialog).to_be_hidden()
    expect(a.page.locator("#conversation-title")).to_have_text("#announcements")
    expect(a.page.locator("#empty-title")).to_have_text("No messages yet — say hello")
    a.send("Hello everyone")

    a.page.get_by_role("button", name="Create a channel").click()
    create = a.page.get_by_role("dialog", name="Create a channel")
    create.get_by_label("Name").fill("announcements")
    create.get_by_role("button", name="Create").click()
    expect(create.get_by_role("alert")).to_have_text("a channel named #announcements exists")
    create.get_by_label("Name").fill("deal-room")
    create.get_by_label("Private").check()
    create.get_by_label("People who join later can read what was said before").uncheck()
    create.get_by_role("button", name="Create").click()

    expect(create).to_be_hidden()
    expect(a.page.locator("#conversation-title")).to_have_text("deal-room")
    expect(
        a.page.locator("#channel-list a", has_text="deal-room").locator("svg.lock")
    ).to_be_visible()
    room = in_db_thread(Conversation.objects.get, name="deal-room")
    assert room.kind == ConversationKind.PRIVATE
    assert room.history_visible is False
    assert in_db_thread(Membership.objects.filter(conversation=room, user=alice).exists)


def test_start_a_direct_message_and_see_presence(sign_in):
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    a = sign_in(alice)
    b = sign_in(bob)

    a.page.get_by_role("button", name="New direct message").click()
    dialog = a.page.get_by_role("dialog", name="New direct message")
    dialog.get_by_label("Find people").fill("bak")
    dialog.get_by_role("button", name="Bob Baker").click()
    dialog.get_by_role("button", name="Start conversation").click()

    expect(a.page.locator("#conversation-title")).to_have_text("Bob Baker")
    dm_link = a.page.locator("#dm-list a", has_text="Bob Baker")
    expect(dm_link.locator(".presence-dot")).to_have_attribute("data-status", "online")
    a.send("Got a minute?")

    expect(b.page.locator("#dm-list a", has_text="Alice")).to_be_visible()
    b.open("Alice")
    expect(b.message("Got a minute?")).to_be_visible()
    b.context.close()
    expect(dm_link.locator(".presence-dot")).to_have_attribute("data-status", "offline")
    expect(a.page.locator("#conversation-topic")).to_contain_text("Offline")


def test_alt_arrows_switch_conversations(sign_in):
    alice = UserFactory(username="alice")
    for name in ("alpha", "bravo", "charlie"):
        ChannelFactory(creator=alice, name=name)
    a = sign_in(alice)
    a.open("alpha")

    a.page.locator("#composer-input").press("Alt+ArrowDown")
    expect(a.page.locator("#conversation-title")).to_have_text("#bravo")
    expect(a.page.locator("#composer-input")).to_be_focused()
    a.page.keyboard.press("Alt+ArrowUp")
    a.page.keyboard.press("Alt+ArrowUp")
    expect(a.page.locator("#conversation-title")).to_have_text("#charlie")


def test_a_conversation_i_am_added_to_counts_each_message_once(sign_in):
    """Added to a channel, the client fetches it; the fetched unread count already includes the
    messages sent before the fetch, so their live frames, arriving after it, must not count
    again (the order a busy server can produce, forced here by holding the message frames)."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, name="desk")
    a = sign_in(alice)
    held: list[str | bytes] = []
    socket: dict[str, WebSocketRoute] = {}

    def relay(page_side: WebSocketRoute) -> None:
        server = page_side.connect_to_server()
        socket["page"] = page_side

        def to_page(data: str | bytes) -> None:
            frame = json.loads(data)
            if frame.get("type") == "message.new" and frame["message"]["body"] == "first word":
                held.append(data)
            else:
                page_side.send(data)

        server.on_message(to_page)

    a.page.route_web_socket(re.compile(r"/ws/$"), relay)
    a.page.reload()
    a.expect_live()

    def added_with_a_message() -> None:
        news = ChannelFactory(creator=bob, members=[alice], name="late-news")
        send(bob, news, "first word")

    in_db_thread(added_with_a_message)
    link = a.page.locator("#sidebar a.conversation-link", has_text="late-news")
    expect(link.locator(".badge")).to_have_text("1")
    assert len(held) == 1
    socket["page"].send(held.pop())
    # Frames reach the page in order: once the next one (a mention) shows, the held one was
    # applied too.
    in_db_thread(lambda: send(bob, Conversation.objects.get(name="late-news"), "@alice look"))
    expect(link.locator(".badge")).to_have_text("@1")
    expect(link).to_have_accessible_name("late-news @1 , 2 unread, 1 mention")
    expect(a.page).to_have_title("(2) eim")
