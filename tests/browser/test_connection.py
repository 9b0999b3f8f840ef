"""Dropped sockets: the client resumes from its cursors and loses or repeats nothing."""

import pytest
from playwright.sync_api import expect

from eim.chat.models import Message
from tests.browser.conftest import PENDING, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.browser, browser_db]

# Keeps every socket the page opens reachable, and can cut one right after it sends a
# message: the server commits the message but the ack never arrives.
SOCKET_SPY = """
window.__sockets = [];
window.__dropAfterNextSend = false;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    window.__sockets.push(this);
  }
  send(data) {
    super.send(data);
    if (window.__dropAfterNextSend && data.includes('"message.send"')) {
      window.__dropAfterNextSend = false;
      this.close();
    }
  }
};
"""


def bodies(person) -> list[str]:
    return person.page.locator("#message-list li.message .message-body").all_inner_texts()


def test_messages_sent_while_offline_arrive_once_and_in_order_after_reconnect(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="desk")
    a, b = sign_in(alice), sign_in(bob)
    a.open("desk")
    b.open("desk")
    a.send("before the drop")
    expect(b.message("before the drop")).to_be_visible()

    a.context.set_offline(True)
    expect(a.page.locator("#connection-banner")).to_contain_text("Reconnecting…")
    a.page.locator("#composer-input").fill("written offline")
    a.page.locator("#composer-input").press("Enter")
    expect(a.message("written offline")).to_contain_text("Waiting for connection…")
    for n in (1, 2, 3):
        b.send(f"while you were away {n}")
    expect(a.message("while you were away")).to_have_count(0)

    a.context.set_offline(False)
    a.expect_live()

    expect(a.page.locator("#connection-banner")).to_be_hidden()
    expect(a.message("written offline")).not_to_have_class(PENDING)
    expect(b.message("written offline")).to_be_visible()
    expected = [
        "before the drop",
        "while you were away 1",
        "while you were away 2",
        "while you were away 3",
        "written offline",
    ]
    for person in (a, b):
        expect(person.page.locator("#message-list li.message")).to_have_count(len(expected))
        assert bodies(person) == expected
    assert in_db_thread(Message.objects.filter(body="written offline").count) == 1


def test_a_dropped_socket_resyncs_and_an_unacknowledged_send_is_not_duplicated(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    a = sign_in(alice)
    a.context.add_init_script(SOCKET_SPY)
    a.page.reload()
    a.expect_live()
    a.open("desk")

    a.page.evaluate("window.__sockets.at(-1).close()")
    in_db_thread(send, bob, desk, "during the gap")
    a.expect_live()
    expect(a.message("during the gap")).to_have_count(1)

    a.page.evaluate("window.__dropAfterNextSend = true")
    a.page.locator("#composer-input").fill("sent just before the cut")
    a.page.locator("#composer-input").press("Enter")
    expect(a.message("sent just before the cut")).not_to_have_class(PENDING)
    in_db_thread(send, bob, desk, "after the gap")

    expect(a.message("after the gap")).to_be_visible()
    assert a.page.evaluate("window.__sockets.length") >= 3
    assert bodies(a) == ["during the gap", "sent just before the cut", "after the gap"]
    assert in_db_thread(Message.objects.filter(body="sent just before the cut").count) == 1
