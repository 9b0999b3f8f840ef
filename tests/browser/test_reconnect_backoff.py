"""The chat socket's reconnect waits (static/chat/socket.js, ChatSocket.closed) in Chromium, on
a blank page with a stand-in WebSocket and timer: after a server restart every client drops at
once, and the waits must spread them out."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

SOCKET_JS = ROOT / "eim" / "chat" / "static" / "chat" / "socket.js"

# Each client: a ChatSocket whose socket closes `attempts` times in a row (a server down for a
# while); the waits it asks setTimeout for, in order.
WAITS = """([source, clients, attempts, code]) => {
  const ChatSocket = new Function(source.replaceAll("export ", "") + "; return ChatSocket;")();
  const waits = [];
  const realSetTimeout = window.setTimeout;
  window.setTimeout = (fn, ms) => { waits.at(-1).push(ms); return 0; };
  for (let c = 0; c < clients; c++) {
    waits.push([]);
    const socket = new ChatSocket({
      url: "ws://127.0.0.1:9/ws/", onHello: () => ({}), onFrame: () => {}, onState: () => {},
    });
    for (let a = 0; a < attempts; a++) socket.closed(code);
  }
  window.setTimeout = realSetTimeout;
  return waits;
}"""


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page()
        browser.close()


def _waits(page: Page, clients: int, attempts: int, code: int = 1006) -> list[list[float]]:
    return page.evaluate(WAITS, [SOCKET_JS.read_text(), clients, attempts, code])


def test_a_thousand_clients_dropped_together_come_back_spread_over_a_second(page: Page):
    first = [waits[0] for waits in _waits(page, clients=1000, attempts=1)]

    assert min(first) >= 0
    assert max(first) < 1000
    assert sum(1 for w in first if w < 250) > 150  # the whole window is used, not its top half
    assert sum(1 for w in first if w >= 750) > 150


def test_each_failed_attempt_doubles_the_window_up_to_fifteen_seconds(page: Page):
    waits = _waits(page, clients=300, attempts=7)

    for attempt, ceiling in enumerate([1000, 2000, 4000, 8000, 15000, 15000, 15000]):
        assert max(w[attempt] for w in waits) <= ceiling
        assert max(w[attempt] for w in waits) > ceiling * 0.8


def test_a_signed_out_socket_does_not_come_back(page: Page):
    assert _waits(page, clients=3, attempts=1, code=4401) == [[], [], []]
