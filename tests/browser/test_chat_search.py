"""Message search in the chat: the reader's own scope, the operators, and the jump to a hit."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from compliance.search.backends.postgres import PostgresBackend
from tests.browser.conftest import PHONE, SCREENSHOTS, browser_db
from tests.compliance.search_world import archive_and_index
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

pytestmark = [pytest.mark.browser, browser_db]


@pytest.fixture
def indexed(tmp_path: Any) -> Iterator[None]:
    PostgresBackend().delete_all()
    store = {
        "BACKEND": "archive.blobs.FilesystemBlobStore",
        "OPTIONS": {"root": str(tmp_path / "archive-blobs")},
    }
    with override_settings(EIM_ARCHIVE_BLOB_STORE=store):
        yield


@pytest.fixture
def world(indexed: None) -> dict[str, Any]:
    alice = UserFactory(username="alice", display_name="Alice Archer")
    bob = UserFactory(username="bob", display_name="Bob Baker")
    carol = UserFactory(username="carol", display_name="Carol Chen")
    desk = ChannelFactory(creator=alice, members=[bob], name="fx-desk")
    secret = ChannelFactory(creator=carol, name="secret", private=True)
    old = send(bob, desk, "the EURUSD fixing was off by a pip")
    for n in range(260):
        send(alice if n % 2 else bob, desk, f"routine chatter number {n}")
    root = send(alice, desk, "thread about the fixing")
    send(bob, desk, "reply: fixing confirmed", parent_id=root.pk)
    send(bob, direct_conversation(alice, bob), "call me about the fixing")
    send(carol, secret, "the fixing is a secret here")
    archive_and_index()
    return {"alice": alice, "old": old}


def search(person, query: str) -> None:
    person.page.get_by_role("button", name=re.compile("Search messages")).click()
    box = person.page.get_by_role("searchbox", name="Search your messages")
    box.fill(query)
    box.press("Enter")


def test_search_finds_what_the_reader_can_read_and_jumps_to_it(sign_in, world):
    a = sign_in(world["alice"])
    search(a, "fixing")

    results = a.page.locator("#search-results li")
    expect(results).to_have_count(4)
    expect(a.page.locator("#search-summary")).to_have_text("4 messages found, newest first")
    expect(a.page.locator("#search-panel")).not_to_contain_text("secret")
    dm = results.filter(has_text="call me about the fixing")
    expect(dm).to_contain_text("Direct message with Bob Baker")
    expect(dm.locator("mark")).to_have_text("fixing")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a.page.screenshot(path=SCREENSHOTS / "search-laptop.png")

    # The oldest hit is 260 messages back: the history loads to it and it is highlighted.
    results.filter(has_text="off by a pip").get_by_role("button").click()
    hit = a.message("the EURUSD fixing was off by a pip")
    expect(hit).to_have_class(re.compile("highlighted"))
    expect(hit).to_be_in_viewport()
    expect(a.page.locator("#conversation-title")).to_have_text("#fx-desk")

    # A reply opens its thread.
    results.filter(has_text="reply: fixing confirmed").get_by_role("button").click()
    expect(a.page.locator("#thread-panel")).to_be_visible()
    expect(a.message("reply: fixing confirmed", where="#thread-list")).to_have_class(
        re.compile("highlighted")
    )


def test_operators_narrow_and_a_bad_query_says_where(sign_in, world):
    a = sign_in(world["alice"])
    search(a, "fixing from:bob in:fx-desk")
    results = a.page.locator("#search-results li")
    expect(results).to_have_count(2)
    search(a, '"unclosed')
    expect(a.page.locator("#search-error")).to_be_visible()
    expect(results).to_have_count(0)


def test_search_on_a_phone_covers_the_screen_and_closes_on_a_pick(sign_in, world):
    a = sign_in(world["alice"], viewport=PHONE, touch=True)
    a.page.get_by_role("button", name="Open the conversation list").tap()
    search(a, "fixing")
    panel = a.page.locator("#search-panel")
    expect(panel).to_be_visible()
    expect(a.page.locator("#search-results li")).to_have_count(4)
    a.page.screenshot(path=SCREENSHOTS / "search-phone.png")
    a.page.locator("#search-results li", has_text="call me").get_by_role("button").tap()
    expect(panel).to_be_hidden()
    expect(a.message("call me about the fixing")).to_have_class(re.compile("highlighted"))
    assert a.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
