"""Two people chatting in one channel, each in their own browser."""

import pytest
from playwright.sync_api import expect

from eim.chat.models import Message
from tests.browser.conftest import browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.browser, browser_db]


def test_two_people_see_each_others_messages_live(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="fx-desk")
    a, b = sign_in(alice), sign_in(bob)
    a.open("fx-desk")
    b.open("fx-desk")

    a.send("Morning Bob, EUR/USD looks quiet")
    expect(b.message("Morning Bob, EUR/USD looks quiet")).to_be_visible()
    b.page.locator("#composer-input").press_sequentially("Agreed, nothing")
    expect(a.page.locator("#typing-line")).to_have_text("Bob is typing…")
    b.page.locator("#composer-input").press_sequentially(" before the ECB")
    b.page.locator("#composer-input").press("Enter")
    expect(a.message("Agreed, nothing before the ECB")).to_be_visible()
    expect(a.page.locator("#typing-line")).to_have_text("")

    for person in (a, b):
        expect(person.page.locator("#message-list li.message")).to_have_count(2)
        expect(person.page.locator("#message-list li.pending")).to_have_count(0)
    expect(b.message("Morning Bob").locator(".author")).to_have_text("Alice")
    expect(a.page.locator("#empty-state")).to_be_hidden()


def test_enter_sends_shift_enter_breaks_the_line_and_up_edits_the_last_message(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="ops")
    a, b = sign_in(alice), sign_in(bob)
    a.open("ops")
    b.open("ops")
    box = a.page.locator("#composer-input")

    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(a.page.locator("#message-list li.message")).to_have_count(0)
    box.press("Enter")

    sent = b.message("first line")
    expect(sent.locator(".message-body")).to_have_text("first line\nsecond line")
    expect(box).to_have_value("")

    box.press("ArrowUp")
    editor = a.page.get_by_role("textbox", name="Edit message")
    expect(editor).to_have_value("first line\nsecond line")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    expect(box).to_be_focused()

    box.press("ArrowUp")
    editor.fill("corrected line")
    editor.press("Enter")

    box.fill("x" * 10_001)
    box.press("Enter")
    expect(a.page.locator("#composer [data-role=error]")).to_have_text(
        "A message is at most 10,000 characters (this one has 10,001)."
    )
    expect(a.page.locator("#composer .counter")).to_have_text("10,001 / 10,000")

    expect(b.message("corrected line").locator(".edited")).to_have_text("(edited)")
    expect(a.message("corrected line").locator(".edited")).to_have_text("(edited)")
    expect(b.message("second line")).to_have_count(0)
    assert in_db_thread(Message.objects.get).body == "corrected line"


def test_reactions_and_a_thread_reply_reach_the_other_person(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="releases")
    a, b = sign_in(alice), sign_in(bob)
    a.open("releases")
    b.open("releases")
    a.send("Ship 4.2 tonight?")

    on_bob = b.message("Ship 4.2 tonight?")
    on_bob.hover()
    on_bob.get_by_role("button", name="Add a reaction").click()
    b.page.get_by_role("button", name="React with thumbs up").click()

    thumbs_on_alice = a.message("Ship 4.2 tonight?").locator(".reaction", has_text="👍")
    expect(thumbs_on_alice.locator(".reaction-count")).to_have_text("1")
    expect(thumbs_on_alice).to_have_attribute("aria-pressed", "false")
    thumbs_on_alice.click()
    thumbs_on_bob = on_bob.locator(".reaction", has_text="👍")
    expect(thumbs_on_bob.locator(".reaction-count")).to_have_text("2")
    expect(thumbs_on_alice).to_have_attribute("aria-pressed", "true")

    on_bob.hover()
    on_bob.get_by_role("button", name="Reply in thread").click()
    reply_box = b.page.get_by_role("textbox", name="Reply in thread")
    expect(reply_box).to_be_focused()
    reply_box.fill("Yes, after the freeze")
    reply_box.press("Enter")
    expect(b.message("Yes, after the freeze", where="#thread-list")).to_be_visible()

    replies = a.message("Ship 4.2 tonight?").get_by_role("button", name="1 reply")
    expect(replies).to_be_visible()
    expect(a.message("Yes, after the freeze")).to_have_count(0)  # not in the channel itself
    replies.click()
    thread = a.page.locator("#thread-panel")
    expect(thread).to_be_visible()
    expect(a.message("Ship 4.2 tonight?", where="#thread-list")).to_be_visible()
    expect(a.message("Yes, after the freeze", where="#thread-list")).to_be_visible()
    reply = in_db_thread(Message.objects.select_related("parent").get, body="Yes, after the freeze")
    assert reply.parent.body == "Ship 4.2 tonight?"


def test_markup_in_a_message_is_shown_as_text_and_never_runs(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="security")
    a, b = sign_in(alice), sign_in(bob)
    dialogs: list[str] = []
    for person in (a, b):
        person.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    a.open("security")
    b.open("security")
    script = "<script>alert('script')</script>"
    image = '<img src="x" onerror="alert(\'img\')">'
    link = "[click me](javascript:alert('link'))"

    b.send(f"{script} {image} {link}")

    shown = a.message("<script>")
    expect(shown.locator(".message-body")).to_contain_text(script)
    expect(shown.locator(".message-body")).to_contain_text(image)
    expect(shown.locator(".message-body img")).to_have_count(0)
    expect(shown.locator(".message-body script")).to_have_count(0)
    expect(shown.locator(".message-body a[href^='javascript']")).to_have_count(0)
    shown.get_by_text("click me").click()
    expect(b.message("<script>").locator(".message-body")).to_contain_text(image)
    assert dialogs == []
    assert a.page.evaluate("document.querySelectorAll('#message-list [onerror]').length") == 0


def test_unread_badges_count_up_live_and_clear_when_read(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="general")
    desk = ChannelFactory(creator=bob, members=[alice], name="desk")
    a = sign_in(alice)
    a.open("general")
    badge = a.page.locator("#channel-list a", has_text="desk").locator(".badge")
    expect(badge).to_have_count(0)

    in_db_thread(send, bob, desk, "first")
    in_db_thread(send, bob, desk, "second")

    expect(badge).to_have_text("2")
    expect(a.page).to_have_title("(2) eim")
    a.open("desk")
    expect(badge).to_have_count(0)
    expect(a.page).to_have_title("eim")
    a.open("general")
    a.page.reload()
    a.expect_live()
    expect(a.page.locator("#channel-list a", has_text="desk").locator(".badge")).to_have_count(0)


def test_history_loads_older_pages_when_scrolled_to_the_top(sign_in):
    alice = UserFactory(username="alice")
    archive = ChannelFactory(creator=alice, name="history")
    for n in range(1, 76):
        send(alice, archive, f"note number {n:03d}")
    a = sign_in(alice)
    a.open("history")
    expect(a.message("note number 075")).to_be_visible()
    expect(a.page.locator("#message-list li.message")).to_have_count(50)

    a.page.locator("#message-scroll").evaluate("node => { node.scrollTop = 0; }")

    expect(a.page.locator("#message-list li.message")).to_have_count(75)
    expect(a.page.locator("#history-status")).to_have_text(
        "This is the very beginning of #history."
    )
    seqs = a.page.locator("#message-list li.message").evaluate_all(
        "nodes => nodes.map(n => Number(n.dataset.seq))"
    )
    assert seqs == sorted(seqs)
    expect(a.message("note number 001")).to_be_attached()
