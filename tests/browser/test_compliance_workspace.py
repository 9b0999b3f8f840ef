"""The compliance workspace at /compliance/ against the real compliance API and archive."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from accounts.models import Role
from compliance.search.backends.postgres import PostgresBackend
from compliance.search.query import parse_query
from eim.chat.services.conversations import membership_join
from eim.chat.services.messages import message_delete, message_edit
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, Person, browser_db
from tests.compliance.search_world import archive_and_index
from tests.conftest import ROOT
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

pytestmark = [pytest.mark.browser, browser_db]


@pytest.fixture
def archive(tmp_path: Any) -> Iterator[None]:
    """An empty search table (it has no model, so no flush empties it) and the archive's
    blob store under the test's tmp directory."""
    PostgresBackend().delete_all()
    store = {
        "BACKEND": "archive.blobs.FilesystemBlobStore",
        "OPTIONS": {"root": str(tmp_path / "archive-blobs")},
    }
    with override_settings(EIM_ARCHIVE_BLOB_STORE=store):
        yield


@pytest.fixture
def desk(archive: None) -> dict[str, Any]:
    """#trading-desk with an edited and a deleted message, a DM, all archived and indexed."""
    olivia = UserFactory(
        username="olivia", display_name="Olivia Officer", roles=[Role.COMPLIANCE_OFFICER]
    )
    bob = UserFactory(username="bob", display_name="Bob Baker")
    carol = UserFactory(username="carol", display_name="Carol Chen")
    channel = ChannelFactory(creator=bob, members=[carol], name="trading-desk")
    send(carol, channel, "Morning. Book is flat, waiting for the CPI print.")
    tip = send(bob, channel, "insider tip: Acme announces the merger on Friday")
    message_edit(user=bob, message_id=tip.pk, body="tip: Acme results on Friday, per the press")
    send(carol, channel, "Noted, thanks")
    gone = send(bob, channel, "keep the insider stuff off the record")
    message_delete(user=bob, message_id=gone.pk)
    send(carol, direct_conversation(bob, carol), "call me about the merger later")
    archive_and_index()
    return {"olivia": olivia, "bob": bob, "carol": carol, "tip": tip}


def workspace(person: Person, query: str = "") -> None:
    person.page.goto("/compliance/" + (f"?q={query}" if query else ""))
    expect(person.page.get_by_role("heading", name="Search operators")).to_be_hidden()
    expect(person.page.locator("#workspace")).not_to_have_attribute("data-state", "loading")


def search(person: Person, query: str) -> None:
    box = person.page.get_by_role("searchbox", name="Search everything ever said")
    box.fill(query)
    box.press("Enter")
    expect(person.page.locator("#workspace")).not_to_have_attribute("data-state", "loading")


def results(person: Person):
    return person.page.locator("#results li.result")


def test_an_officer_searches_and_reads_a_hit_in_context_and_its_versions(sign_in, desk):
    officer = sign_in(desk["olivia"])
    workspace(officer)
    expect(officer.page.get_by_text("Search the archive")).to_be_visible()

    search(officer, "insider")

    # The original of the edited tip and the deleted message: every version is searchable.
    expect(results(officer)).to_have_count(2)
    expect(officer.page.locator("#result-summary")).to_contain_text("2 message versions found")
    first, second = results(officer).nth(0), results(officer).nth(1)
    expect(first).to_contain_text("keep the insider stuff off the record")
    expect(first.locator(".badge-deleted")).to_have_text("Deleted")
    expect(first.locator("mark")).to_have_text("insider")
    expect(second.locator(".badge-edited")).to_have_text("Original, later edited")
    expect(second).to_contain_text("#trading-desk")
    expect(second).to_contain_text("Bob Baker")

    officer.page.keyboard.press("ArrowDown")  # from the search box into the results
    expect(first).to_be_focused()
    officer.page.keyboard.press("j")
    expect(second).to_be_focused()
    expect(second).to_have_attribute("aria-selected", "true")
    officer.page.keyboard.press("k")
    expect(first).to_be_focused()
    officer.page.keyboard.press("ArrowDown")
    officer.page.keyboard.press("Enter")

    panel = officer.page.get_by_role("complementary")
    expect(panel).to_be_visible()
    context = panel.locator("#context-list li")
    expect(context).to_have_count(4)
    # As the conversation stood when the tip was written: before its edit.
    expect(panel.locator("#context-list li.current")).to_contain_text(
        "insider tip: Acme announces the merger on Friday"
    )
    expect(context.nth(0)).to_contain_text("Book is flat")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    officer.page.screenshot(path=SCREENSHOTS / "compliance-laptop-context.png")

    panel.get_by_role("tab", name=re.compile("Version history")).click()
    versions = panel.locator("#version-list li")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("Original")
    expect(versions.nth(1)).to_contain_text("tip: Acme results on Friday, per the press")
    expect(panel.get_by_role("tab", name="Version history (2)")).to_be_visible()
    officer.page.screenshot(path=SCREENSHOTS / "compliance-laptop-versions.png")

    officer.page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(second).to_be_focused()

    officer.page.keyboard.press("/")
    expect(officer.page.get_by_role("searchbox")).to_be_focused()


def test_a_query_that_cannot_be_read_points_at_the_problem(sign_in, desk):
    officer = sign_in(desk["olivia"])
    workspace(officer)

    search(officer, 'insider "trading')

    error = officer.page.get_by_role("alert")
    expect(error).to_contain_text("unclosed quote at 8")
    expect(officer.page.locator("#query-error-where")).to_have_text('insider "trading\n        ^')
    box = officer.page.get_by_role("searchbox")
    expect(box).to_have_attribute("aria-invalid", "true")
    assert box.evaluate("b => [b.selectionStart, b.selectionEnd]") == [8, 9]
    expect(results(officer)).to_have_count(0)
    officer.page.screenshot(path=SCREENSHOTS / "compliance-laptop-error.png")

    box.fill('insider "trading"')
    expect(error).to_be_hidden()


def test_no_match_says_what_was_searched_and_what_to_try(sign_in, desk):
    officer = sign_in(desk["olivia"])
    workspace(officer, query="spoofing")

    expect(officer.page.get_by_text("Nothing matches spoofing")).to_be_visible()
    expect(officer.page.locator("#empty-hint")).to_contain_text("deleted ones included")
    expect(officer.page.locator("#empty-hint")).to_contain_text("confid*")
    expect(results(officer)).to_have_count(0)


def test_every_operator_example_is_a_valid_query_and_docs_examples_are_all_there(sign_in, desk):
    officer = sign_in(desk["olivia"])
    workspace(officer)
    officer.page.get_by_role("button", name="Operators").click()
    panel = officer.page.get_by_role("region", name="Search operators")
    expect(panel).to_be_visible()
    officer.page.screenshot(path=SCREENSHOTS / "compliance-laptop-operators.png")

    examples = panel.locator("button.example").evaluate_all(
        "buttons => buttons.map(b => b.dataset.example)"
    )
    for example in examples:
        parse_query(example)
    # docs/search.md's quick reference: every row has at least one of its examples here.
    reference = (ROOT / "docs" / "search.md").read_text().split("## Quick reference")[1]
    rows = [line for line in reference.split("\n## ")[0].splitlines() if line.startswith("| `")]
    for row in rows:
        typed = re.findall(r"`([^`]+)`", row.split("|")[1])
        assert set(typed) & set(examples), f"no example from {row!r} in the operators panel"

    panel.get_by_role("button", name="from:bob").click()
    expect(officer.page.get_by_role("searchbox")).to_have_value("from:bob")
    expect(panel).to_be_hidden()
    expect(results(officer)).to_have_count(3)


def test_at_phone_width_the_panel_covers_the_page_and_nothing_scrolls_sideways(sign_in, desk):
    officer = sign_in(desk["olivia"], viewport=PHONE)
    workspace(officer, query="merger")

    expect(results(officer)).to_have_count(2)
    assert officer.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    officer.page.screenshot(path=SCREENSHOTS / "compliance-phone-results.png")

    results(officer).nth(0).click()
    panel = officer.page.get_by_role("complementary")
    expect(panel.locator("#context-list li.current")).to_contain_text("call me about the merger")
    assert panel.bounding_box() == {"x": 0, "y": 0, **PHONE}
    officer.page.screenshot(path=SCREENSHOTS / "compliance-phone-context.png")
    panel.get_by_role("button", name="Close the message panel").click()
    expect(panel).to_be_hidden()


def test_at_phone_width_an_officer_reads_who_could_see_a_message_with_times(sign_in, desk):
    dave = UserFactory(username="dave", display_name="Dave Dunn")
    membership_join(user=dave, conversation_id=desk["tip"].conversation_id)
    archive_and_index()
    officer = sign_in(desk["olivia"], viewport=PHONE)
    workspace(officer, query="Acme")
    results(officer).nth(0).click()
    panel = officer.page.get_by_role("complementary")

    panel.get_by_role("tab", name=re.compile("Who could see it")).click()

    people = panel.locator("#exposure-list li")
    expect(people).to_have_count(3)
    expect(panel.get_by_role("tab", name="Who could see it (3)")).to_be_visible()
    expect(people.nth(2)).to_contain_text("@dave")
    expect(people.nth(2)).to_contain_text("Joined later and was given the history")
    expect(people.nth(2)).to_contain_text("can still read it")
    expect(people.nth(0)).to_contain_text("In the conversation when it was written")
    assert officer.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    officer.page.screenshot(path=SCREENSHOTS / "compliance-phone-exposure.png")


def test_an_employee_gets_a_plain_403_page(sign_in, desk):
    employee = sign_in(desk["carol"], viewport=LAPTOP)

    response = employee.page.goto("/compliance/")

    assert response is not None
    assert response.status == 403
    expect(
        employee.page.get_by_role(
            "heading", name="The compliance workspace is for compliance officers"
        )
    ).to_be_visible()
    expect(employee.page.get_by_role("searchbox")).to_have_count(0)
    employee.page.screenshot(path=SCREENSHOTS / "compliance-laptop-forbidden.png")


def test_a_failed_next_page_keeps_the_results_shown_and_says_what_went_wrong(sign_in, desk):
    officer = sign_in(desk["olivia"])
    page = officer.page

    def first_page_with_a_next(route):
        answer = route.fetch()
        body = answer.json()
        body["next"] = "page-two"
        route.fulfill(response=answer, json=body)

    def next_page_fails(route):
        route.fulfill(status=503, json={"code": "unavailable", "detail": "The search is busy."})

    page.route(re.compile(r"/api/v1/compliance/search\?(?!.*cursor=)"), first_page_with_a_next)
    page.route(re.compile(r"/api/v1/compliance/search\?.*cursor=page-two"), next_page_fails)
    workspace(officer)
    search(officer, "insider")
    expect(results(officer)).to_have_count(2)

    page.get_by_role("button", name="Show more results").click()

    expect(page.get_by_role("alert")).to_contain_text("Couldn't load more results")
    expect(page.get_by_role("alert")).to_contain_text("The search is busy.")
    expect(results(officer)).to_have_count(2)
    expect(page.locator("#result-summary")).to_contain_text("2 message versions found")
    expect(page.get_by_role("button", name="Show more results")).to_be_enabled()


def test_an_officer_goes_from_the_chat_to_the_workspace_and_back(sign_in, desk):
    officer = sign_in(desk["olivia"])
    officer.page.get_by_role("link", name="Compliance workspace").click()
    expect(
        officer.page.get_by_role("searchbox", name="Search everything ever said")
    ).to_be_visible()
    officer.page.get_by_role("link", name="Back to chat").click()
    officer.expect_live()


def test_an_employee_sees_no_workspace_link(sign_in, desk):
    employee = sign_in(desk["bob"])
    expect(employee.page.get_by_role("link", name="Compliance workspace")).to_have_count(0)


def test_direct_messages_show_their_people_and_the_facets_refine_the_query(sign_in, desk):
    officer = sign_in(desk["olivia"])
    workspace(officer)
    search(officer, "merger")
    expect(results(officer)).to_have_count(2)
    dm = results(officer).filter(has_text="call me about the merger later")
    expect(dm).to_contain_text("Direct message · Bob Baker, Carol Chen")
    expect(dm).not_to_contain_text("conversation")

    facets = officer.page.locator("#facets")
    expect(facets.get_by_role("button", name=re.compile("@bob"))).to_contain_text("1")
    expect(facets.get_by_role("button", name=re.compile("Bob Baker, Carol Chen"))).to_be_visible()
    expect(facets.get_by_role("heading", name="Days (UTC)")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    officer.page.screenshot(path=SCREENSHOTS / "compliance-facets-laptop.png")
    # One line of text is one compact card.
    box = dm.bounding_box()
    assert box is not None
    assert box["height"] < 70

    facets.get_by_role("button", name=re.compile("@carol")).click()
    expect(officer.page.get_by_role("searchbox")).to_have_value("merger from:carol")
    expect(results(officer)).to_have_count(1)


def test_at_phone_width_the_facets_fold_away(sign_in, desk):
    officer = sign_in(desk["olivia"], viewport=PHONE, touch=True)
    workspace(officer)
    search(officer, "merger")
    summary = officer.page.locator("#facets summary")
    expect(summary).to_be_visible()
    expect(officer.page.locator("#facets").get_by_role("heading", name="People")).to_be_hidden()
    summary.tap()
    expect(officer.page.locator("#facets").get_by_role("heading", name="People")).to_be_visible()
    officer.page.screenshot(path=SCREENSHOTS / "compliance-facets-phone.png")
    assert officer.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
